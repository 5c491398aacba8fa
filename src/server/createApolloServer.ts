import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { createFormatError } from "../errors/formatError.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";
import { buildSchema } from "./buildSchema.js";
import type { GraphQLContext, TaskStarter } from "./context.js";
import { EXAMPLE_OPERATION, exampleVariables } from "./exampleOperation.js";
import { taskIdLimitPlugin } from "./taskIdLimitPlugin.js";

export interface ApolloServerOptions {
  /** Production: field suggestions off in validation errors (they reveal the schema). */
  production: boolean;
  /** Introspection and Sandbox on. */
  introspection: boolean;
  /** Distinct task ids one operation may ask for. */
  maxTaskIdsPerOperation: number;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** Where faults of this service are reported. */
  logError: (message: string, error: unknown) => void;
  /** More plugins: the HTTP server's drain, observers. */
  plugins?: ApolloServerPlugin<GraphQLContext>[];
}

/** Tokens one operation may have: room for hundreds of inline ids, far below what hurts the parser. */
const MAX_TOKENS = 2000;

/**
 * The subgraph's Apollo Server. The schema is built once, here, not per request. graphql-armor caps
 * aliases, depth, directives and cost per operation, the parser caps tokens, and `taskIdLimitPlugin`
 * caps the task ids.
 */
export function createApolloServer(options: ApolloServerOptions): ApolloServer<GraphQLContext> {
  const armor = new ApolloArmor({
    maxAliases: { n: 20 },
    maxDepth: { n: 8 },
    // graphql-js's own parser limit (parseOptions below) answers 400; armor's version answers 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 30 },
    costLimit: { maxCost: 5000 },
    blockFieldSuggestion: { enabled: options.production },
  }).protect();
  return new ApolloServer<GraphQLContext>({
    schema: buildSchema(),
    validationRules: armor.validationRules,
    parseOptions: { maxTokens: MAX_TOKENS },
    allowBatchedHttpRequests: false,
    introspection: options.introspection,
    // The entry point owns shutdown (drain, then exit 0); Apollo's own handler re-raises the signal.
    stopOnTerminationSignals: false,
    // Every error a client sees is deliberate and says what went wrong; stacks stay in the logs.
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(options.logError),
    plugins: [
      // Typed for Apollo's BaseContext; they read no context, so they serve this one as they are.
      ...(armor.plugins as ApolloServerPlugin<GraphQLContext>[]),
      taskIdLimitPlugin(options.maxTaskIdsPerOperation),
      ...(options.plugins ?? []),
      // Federated traces for the router (error messages masked in traces, Apollo's default).
      ApolloServerPluginInlineTrace(),
      !options.introspection
        ? ApolloServerPluginLandingPageDisabled()
        : ApolloServerPluginLandingPageLocalDefault({
            embed: true,
            includeCookies: false,
            document: EXAMPLE_OPERATION,
            variables: exampleVariables(options.exampleTaskIds ?? []),
          }),
    ],
  });
}

export interface ContextOptions {
  source: UserAccessTaskSource;
  starter: TaskStarter;
  requestId: string;
  /** The operation's deadline. */
  deadlineMs: number;
}

/**
 * A fresh context for one operation: its own loader, so no cache is shared between callers, and the
 * operation's deadline, after which nothing more is sent to AppFabric for it. The deadline is a timer
 * that `dispose` clears, rather than `AbortSignal.timeout`, whose timer would outlive every operation
 * by the whole timeout (thousands of them under load).
 */
export function createContext({ source, starter, requestId, deadlineMs }: ContextOptions): GraphQLContext {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException(`The operation's ${deadlineMs} ms deadline passed`, "TimeoutError")), deadlineMs);
  timer.unref();
  return {
    requestId,
    userAccessTasks: new UserAccessTaskLoader(source, { deadline: deadline.signal }),
    startUserAccessTasks: (email) => starter.startUserAccessTasks(email, { signal: deadline.signal }),
    dispose: () => clearTimeout(timer),
  };
}
