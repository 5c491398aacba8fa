import type { ApolloServerPlugin } from "@apollo/server";
import type { Logger } from "pino";
import type { GraphQLContext } from "../server/context.js";
import type { Metrics } from "./Metrics.js";

/**
 * One log line and one metric sample per GraphQL operation: its name, duration, outcome and the
 * distinct `extensions.code`s of its errors. Never the query text, variables or data, which may hold
 * personal data.
 */
export function operationObserverPlugin(logger: Logger, metrics: Metrics): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operationName, contextValue }) {
          contextValue.dispose();
          const result = response.body.kind === "single" ? response.body.singleResult : undefined;
          const errors = result?.errors ?? [];
          const outcome = errors.length === 0 ? "ok" : result?.data ? "partial" : "error";
          const errorCodes = [...new Set(errors.map((error) => String(error.extensions?.["code"] ?? "UNKNOWN")))];
          const taskIds = contextValue.userAccessTasks.idsRequested;
          metrics.operationAnswered(operationName ?? undefined, outcome, taskIds);
          logger.info(
            {
              requestId: contextValue.requestId,
              operationName: operationName ?? null,
              durationMs: Math.round((performance.now() - started) * 10) / 10,
              outcome,
              errorCodes,
              taskIds,
              httpStatus: response.http.status ?? 200,
            },
            "operation",
          );
        },
      };
    },
  };
}
