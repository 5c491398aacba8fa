/**
 * The fixed words a refused request is logged and counted by. Derived from the HTTP status and the
 * error code this service (or Apollo Server) answered with, never from anything the caller sent.
 */
export type RefusalReason =
  | "unauthenticated"
  | "authentication_unavailable"
  | "invalid_json"
  | "body_too_large"
  | "unsupported_media_type"
  | "request_timeout"
  | "headers_too_large"
  | "connection_stalled"
  | "caller_gone"
  | "connection_closed"
  | "csrf"
  | "not_found"
  | "method_not_allowed"
  | "not_acceptable"
  | "parse_failed"
  | "validation_failed"
  | "bad_user_input"
  | "bad_request"
  | "websocket_path"
  | "websocket_origin"
  | "shutting_down"
  | "credentials_expired"
  | "too_many_subscriptions"
  | "slow_reader"
  | "rate_limited"
  | "websocket_unauthenticated"
  | "untrusted_document"
  | "other";

const BY_CODE: Record<string, RefusalReason> = {
  UNAUTHENTICATED: "unauthenticated",
  AUTHENTICATION_UNAVAILABLE: "authentication_unavailable",
  GRAPHQL_PARSE_FAILED: "parse_failed",
  GRAPHQL_VALIDATION_FAILED: "validation_failed",
  BAD_USER_INPUT: "bad_user_input",
  PERSISTED_QUERY_NOT_SUPPORTED: "bad_request",
  PERSISTED_QUERY_NOT_IN_LIST: "untrusted_document",
  BAD_REQUEST: "bad_request",
  RATE_LIMITED: "rate_limited",
};

/** The reason for a refused answer, from its status and the code of its first error. */
export function refusalReasonOf(status: number, code: string | undefined, message?: string): RefusalReason {
  if (status === 404) return "not_found";
  if (status === 405) return "method_not_allowed";
  if (status === 406) return "not_acceptable";
  if (status === 408) return "request_timeout";
  if (status === 413) return "body_too_large";
  if (status === 415) return "unsupported_media_type";
  if (status === 431) return "headers_too_large";
  if (message?.startsWith("This operation has been blocked as a potential Cross-Site Request Forgery")) return "csrf";
  return (code === undefined ? undefined : BY_CODE[code]) ?? "other";
}
