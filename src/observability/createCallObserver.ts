import type { Logger } from "pino";
import type { AppFabricCallObserver } from "../appfabric/AppFabricClient.js";
import { failureOf } from "../appfabric/callEvents.js";
import { isSigningError } from "../appfabric/errors.js";
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
        // A refused signature or clock is this service's own fault, for its operator to fix: error
        // (a clock it has just corrected, and tries again on, is the warning below instead).
        const level = failureOf(event) === undefined ? "info" : isSigningError(event.errorType) && event.clockSkewCorrected !== true ? "error" : "warn";
        callLog[level](
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
    clockSkewCorrected: (offsetMs) => {
      // An operator's to fix (NTP); the service goes on, signing on AppFabric's time as AWS SDKs do.
      callLog.warn(
        { clockOffsetSeconds: Math.round(offsetMs / 1000) },
        `This host's clock is ${Math.abs(Math.round(offsetMs / 1000))} s ${offsetMs > 0 ? "behind" : "ahead of"} AppFabric's (its Date header); requests are now signed on AppFabric's time. Fix the host's clock (NTP).`,
      );
    },
  };
}
