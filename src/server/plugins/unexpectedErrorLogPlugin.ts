import type { ApolloServerPlugin } from "@apollo/server";
import type { Logger } from "pino";
import { innermostCause, isExpected } from "../../errors/formatError.js";
import type { GraphQLContext } from "../../resolvers/context.js";

/**
 * Logs, at `error` with the request id and the stack, each error of an operation that is a fault of
 * this service (not one raised on purpose). A caller's mistakes are never logged here: they are in the
 * operation's own line, as codes.
 */
export function unexpectedErrorLogPlugin(logger: Logger): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            if (!isExpected(error)) {
              logger.error(
                { requestId: contextValue.requestId, err: innermostCause(error), path: error.path },
                "Unexpected error while executing an operation",
              );
            }
          }
        },
      };
    },
  };
}
