import { SpanStatusCode, type Span } from "@opentelemetry/api";

/** What an operation's span is told when its answer goes out: nothing personal, as its log line. */
export interface OperationSummary {
  /** `query` or `mutation`; undefined when the operation was refused before it was resolved. */
  type: string | undefined;
  /** The loggable operation name (see `loggableOperationName`), or null. */
  name: string | null;
  outcome: string;
  errorCodes: readonly string[];
  taskIds: number;
  httpStatus: number;
}

/**
 * Names the span as OpenTelemetry's GraphQL conventions do (`query UserAccessTasks`), records what
 * the log line records, and marks it an error when the operation ran and failed for a reason of
 * this service's or AppFabric's (a refused request, 4xx, a malformed id or an unknown task is the
 * caller's matter, as in the logs).
 */
export function describeOperationSpan(span: Span, summary: OperationSummary): void {
  if (summary.type !== undefined) {
    span.updateName(summary.name === null ? summary.type : `${summary.type} ${summary.name}`);
    span.setAttribute("graphql.operation.type", summary.type);
  }
  if (summary.name !== null) span.setAttribute("graphql.operation.name", summary.name);
  span.setAttributes({
    "appfabric.task_ids": summary.taskIds,
    "graphql.outcome": summary.outcome,
    "graphql.error.codes": [...summary.errorCodes],
  });
  // An abandoned operation's answer never left: there is no status to record.
  if (summary.outcome !== "abandoned") span.setAttribute("http.response.status_code", summary.httpStatus);
  const serviceSide = summary.errorCodes.some((code) => !CALLER_CODES.has(code));
  const failed = summary.httpStatus >= 500 || (summary.httpStatus < 400 && summary.outcome !== "abandoned" && serviceSide);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: summary.errorCodes.join(",") });
}

/** Errors that say what the caller asked for was wrong or absent: not a failure of this service or AppFabric. */
const CALLER_CODES: ReadonlySet<string> = new Set(["BAD_USER_INPUT", "NOT_FOUND"]);
