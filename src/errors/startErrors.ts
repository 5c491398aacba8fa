import { GraphQLError } from "graphql";
import { AppFabricServiceError, AppFabricTransportError } from "../appfabric/errors.js";
import { ErrorCode } from "./ErrorCode.js";
import { toGraphQLError } from "./toGraphQLError.js";

/** The most `startUserAccessTasks` fields one operation may hold: starts are not idempotent. */
export const MAX_STARTS_PER_OPERATION = 1;

/** An email AppFabric would refuse (`problem` says which part, without quoting it): refused before any call, and never echoed. */
export function badEmailError(problem: string): GraphQLError {
  return new GraphQLError(`Expected an email address AppFabric accepts: a name, "@" and a domain; ${problem}. Nothing was started.`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, mayHaveStarted: false },
  });
}

export function oneStartPerOperationError(): GraphQLError {
  return new GraphQLError(
    "One operation may start tasks at most once: " +
      "each start creates new tasks in AppFabric. Send one startUserAccessTasks per request. Nothing was started.",
    { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, mayHaveStarted: false, http: { status: 400 } } },
  );
}

/**
 * A failed `StartUserAccessTasks`, as the caller must read it. Starting is not idempotent, so what
 * matters is whether AppFabric may already have started tasks: after a timeout, a connection lost once
 * the request was out, a 5xx or the operation's deadline, it may have, and the same start again could
 * run every task twice. Those answer `retryable: false` and `mayHaveStarted: true`, and say so. A
 * refusal AppFabric gave before doing anything (4xx, 429), or a call that never left, keeps its usual
 * mapping with `mayHaveStarted: false`.
 */
export function toStartError(error: unknown): GraphQLError {
  const mapped = toGraphQLError(error);
  if (!outcomeUnknown(error)) return withExtensions(mapped, { mayHaveStarted: false });
  return new GraphQLError(
    `AppFabric may already have started tasks for this person: the start failed after the request was sent (${(error as Error).message}). ` +
      "Starting again could start every task twice; check the person's tasks in AppFabric before starting again.",
    { extensions: { ...mapped.extensions, retryable: false, mayHaveStarted: true } },
  );
}

function outcomeUnknown(error: unknown): boolean {
  if (error instanceof AppFabricTransportError) return error.mayHaveReachedAppFabric;
  if (error instanceof AppFabricServiceError) return error.details.statusCode >= 500;
  return false;
}

function withExtensions(error: GraphQLError, extensions: Record<string, unknown>): GraphQLError {
  return new GraphQLError(error.message, { originalError: error.originalError ?? undefined, extensions: { ...error.extensions, ...extensions } });
}
