import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { ErrorCode } from "./ErrorCode.js";
import { withoutEchoedValues } from "./withoutEchoedValues.js";

/**
 * Apollo's `formatError`: errors this service raised on purpose (and graphql-js's own parse and
 * validation errors) pass, with any value the caller sent taken out of graphql-js's messages; anything
 * else is a fault of this service and is answered as a bare `INTERNAL_SERVER_ERROR`, so no internals
 * reach the client. Logging those faults is `unexpectedErrorLogPlugin`'s job, where the request id is
 * known.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (isUncodedRequestError(original)) {
    return { ...formatted, message: withoutEchoedValues(formatted.message, original), extensions: { ...formatted.extensions, code: ErrorCode.BAD_REQUEST } };
  }
  if (isExpected(error)) return { ...formatted, message: withoutEchoedValues(formatted.message, original) };
  return {
    message: original instanceof GraphQLError && formatted.extensions?.["code"] === ErrorCode.INTERNAL_SERVER_ERROR ? formatted.message : "Unexpected error.",
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
  };
}

/** Whether an error is one this service (or graphql-js, or Apollo) raised on purpose, not a fault. */
export function isExpected(error: unknown): boolean {
  const original = unwrapResolverError(error);
  if (!(original instanceof GraphQLError)) return false;
  if (isUncodedRequestError(original)) return true;
  const code = original.extensions["code"];
  return code !== ErrorCode.INTERNAL_SERVER_ERROR;
}

/**
 * Apollo answers a few mistakes in the request itself (a persisted-query hash that does not match its
 * query, an unknown persisted-query version) with a `GraphQLError` that has no code, which it would
 * report as `INTERNAL_SERVER_ERROR`. An error with no code and no path comes from the request, not
 * from executing it: it is the caller's `BAD_REQUEST`.
 */
function isUncodedRequestError(error: unknown): boolean {
  return error instanceof GraphQLError && error.extensions["code"] === undefined && error.path === undefined;
}

/** The error a fault came from, for the log: the innermost cause. */
export function innermostCause(error: unknown): unknown {
  let current = unwrapResolverError(error);
  if (current instanceof GraphQLError && current.originalError !== undefined) current = current.originalError;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return current;
}
