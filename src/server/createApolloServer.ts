import { ApolloServer, type ApolloServerPlugin } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginInlineTrace } from "@apollo/server/plugin/inlineTrace";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { createFormatError } from "../errors/formatError.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskLoader.js";
import { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";
import { buildSchema } from "./buildSchema.js";
import type { GraphQLContext } from "./context.js";
import { EXAMPLE_OPERATION, exampleVariables } from "./exampleOperation.js";

export interface ApolloServerOptions {
  /** Production: no Sandbox, no introspection, no stack traces in responses. */
  production: boolean;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** Where faults of this service are reported. */
  logError: (message: string, error: unknown) => void;
  /** More plugins: the HTTP server's drain, observers. */
  plugins?: ApolloServerPlugin<GraphQLContext>[];
}

/** The subgraph's Apollo Server. The schema is built once, here, not per request. */
export function createApolloServer(options: ApolloServerOptions): ApolloServer<GraphQLContext> {
  return new ApolloServer<GraphQLContext>({
    schema: buildSchema(),
    introspection: !options.production,
    // The entry point owns shutdown (drain, then exit 0); Apollo's own handler re-raises the signal.
    stopOnTerminationSignals: false,
    // Every error a client sees is deliberate and says what went wrong; stacks stay in the logs.
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(options.logError),
    plugins: [
      ...(options.plugins ?? []),
      // Federated traces for the router (error messages masked in traces, Apollo's default).
      ApolloServerPluginInlineTrace(),
      options.production
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

/** A fresh context for one operation: its own loader, so no cache is shared between callers. */
export function createContext(source: UserAccessTaskSource, requestId: string): GraphQLContext {
  return { requestId, userAccessTasks: new UserAccessTaskLoader(source) };
}
