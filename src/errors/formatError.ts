import { unwrapResolverError } from "@apollo/server/errors";
import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { ErrorCode } from "./ErrorCode.js";

/**
 * Apollo's `formatError`: errors this service raised on purpose (and graphql-js's own parse and
 * validation errors) pass as they are; anything else is a fault of this service, reported to `log`
 * with its stack and answered as a bare `INTERNAL_SERVER_ERROR`, so no internals reach the client.
 */
export function createFormatError(log: (message: string, error: unknown) => void) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.["code"];
    if (original instanceof GraphQLError && code !== ErrorCode.INTERNAL_SERVER_ERROR) return formatted;
    log("Unexpected error while executing an operation", innermostCause(original));
    return {
      message: original instanceof GraphQLError && code === ErrorCode.INTERNAL_SERVER_ERROR ? formatted.message : "Unexpected error.",
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
    };
  };
}

function innermostCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error && current.cause !== undefined; depth++) current = current.cause;
  return current;
}
