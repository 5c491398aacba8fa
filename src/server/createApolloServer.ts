import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { ApolloArmor } from "@escape.tech/graphql-armor";
import { formatError } from "../errors/formatError.js";
import { buildSchema } from "./buildSchema.js";
import type { GraphQLContext } from "./context.js";
import { EXAMPLE_OPERATION, exampleVariables } from "./exampleOperation.js";
import { operationLimitsPlugin } from "./operationLimitsPlugin.js";

export interface ApolloServerOptions {
  /** Production: field suggestions off in validation errors (they reveal the schema). */
  production: boolean;
  /** Introspection and Sandbox on. */
  introspection: boolean;
  /** Task ids one operation may list. */
  maxTaskIdsPerOperation: number;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** More plugins: the HTTP server's drain, observers. */
  plugins?: ApolloServerPlugin<GraphQLContext>[];
}

/** Tokens one operation may have: room for hundreds of inline ids, far below what hurts the parser. */
const MAX_TOKENS = 2000;

/**
 * The subgraph's Apollo Server. The schema is built once, here, not per request. graphql-armor caps
 * aliases, depth, directives and cost per operation, the parser caps tokens, and
 * `operationLimitsPlugin` caps the task ids and the starts.
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
    formatError,
    plugins: [
      // Typed for Apollo's BaseContext; they read no context, so they serve this one as they are.
      ...(armor.plugins as ApolloServerPlugin<GraphQLContext>[]),
      operationLimitsPlugin(options.maxTaskIdsPerOperation),
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
