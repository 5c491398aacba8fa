import type { ApolloServerPlugin } from "@apollo/server";
import type { Logger } from "pino";
import { withoutRedaction } from "../../observability/createLogger.js";
import { loggableOperationName } from "../../observability/operationName.js";
import { describeOperationSpan } from "../../observability/operationSpan.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import type { ServerObserver } from "../ServerObserver.js";
import { refusalReasonOf } from "../../observability/refusalReasons.js";

/**
 * One log line and one metric sample per GraphQL operation: its name, duration, outcome and the
 * distinct `extensions.code`s of its errors. Never the query text, variables or data, which may hold
 * personal data. An operation refused with an HTTP error (parse, validation, limits) is also counted
 * as a refusal; its line here is the only line logged for the request.
 */
export function operationObserverPlugin(logger: Logger, metrics: ServerObserver): ApolloServerPlugin<GraphQLContext> {
  // The line's fields are fixed and never personal: see withoutRedaction.
  const operationLog = withoutRedaction(logger);
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operationName, operation, contextValue }) {
          const result = response.body.kind === "single" ? response.body.singleResult : undefined;
          const errors = result?.errors ?? [];
          // A caller who hung up never sees the answer; its errors are of its own leaving, not AppFabric's.
          const outcome = contextValue.log.callerGone ? "abandoned" : errors.length === 0 ? "ok" : result?.data ? "partial" : "error";
          const errorCodes = [...new Set(errors.map((error) => codeOf(error.extensions?.["code"])))];
          const taskIds = contextValue.userAccessTasks.idsRequested;
          const httpStatus = response.http.status ?? 200;
          metrics.operationAnswered(operationName ?? undefined, outcome, taskIds);
          const reason = httpStatus >= 400 ? refusalReasonOf(httpStatus, errorCodes[0]) : undefined;
          if (reason !== undefined) metrics.requestRefused(reason);
          contextValue.log.written = true;
          const { span } = contextValue;
          const name = loggableOperationName(operationName);
          if (span !== undefined) describeOperationSpan(span, { type: operation?.operation, name, outcome, errorCodes, taskIds, httpStatus });
          const traceId = span?.spanContext().traceId;
          operationLog.info(
            {
              requestId: contextValue.requestId,
              ...(traceId === undefined ? {} : { traceId }),
              operationName: name,
              durationMs: Math.round((performance.now() - started) * 10) / 10,
              outcome,
              errorCodes,
              taskIds,
              httpStatus,
              ...(reason === undefined ? {} : { reason }),
            },
            "operation",
          );
        },
      };
    },
  };
}

function codeOf(code: unknown): string {
  return typeof code === "string" ? code : "UNKNOWN";
}
