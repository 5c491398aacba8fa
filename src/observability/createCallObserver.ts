import type { Logger } from "pino";
import type { AppFabricCallObserver } from "../appfabric/AppFabricClient.js";
import { failureOf } from "../appfabric/callEvents.js";
import { withoutRedaction } from "./createLogger.js";
import type { Metrics } from "./Metrics.js";

/** Feeds every AppFabric call attempt into the metrics and writes one log line for it (with the trace id, when traced). */
export function createCallObserver(logger: Logger, metrics: Metrics): AppFabricCallObserver {
  // The line's fields are fixed and never personal (counts, statuses, AWS's ids): see withoutRedaction.
  const callLog = withoutRedaction(logger);
  return {
    attemptStarted: ({ operation, trace }) => {
      metrics.callStarted(operation);
      const traceId = trace?.parent.traceId;
      return (event) => {
        metrics.callEnded(event);
        callLog[failureOf(event) === undefined ? "info" : "warn"](
          {
            operation: event.operation,
            ids: event.ids,
            attempt: event.attempt,
            status: event.outcome,
            errorType: event.errorType,
            awsRequestId: event.awsRequestId,
            durationMs: Math.round(event.durationMs * 10) / 10,
            ...(traceId === undefined ? {} : { traceId }),
          },
          "appfabric call",
        );
      };
    },
  };
}
