/**
 * Every `extensions.code` this service answers with. Clients switch on these, so the set is closed:
 * add a member here (and to the README's table) before answering with a new code.
 */
export enum ErrorCode {
  /** The HTTP request itself is unusable: not JSON, wrong content type, too large (Apollo's code too). */
  BAD_REQUEST = "BAD_REQUEST",
  /** No valid credentials for this service: router secret or JWT missing or wrong (HTTP 401). */
  UNAUTHENTICATED = "UNAUTHENTICATED",
  /** The identity provider's key set (AUTH_JWKS_URL) cannot be fetched, so no JWT can be checked (HTTP 503). */
  AUTHENTICATION_UNAVAILABLE = "AUTHENTICATION_UNAVAILABLE",
  /** The request is invalid: a malformed task id, or AppFabric's ValidationException. */
  BAD_USER_INPUT = "BAD_USER_INPUT",
  /**
   * The caller's token lacks the scope this field needs (AUTH_SCOPE_READ, AUTH_SCOPE_START;
   * `requiredScope` names it), or AppFabric refused the service's credentials or permissions (any 403).
   */
  FORBIDDEN = "FORBIDDEN",
  /** AppFabric does not know the task id, or the app bundle (404). */
  NOT_FOUND = "NOT_FOUND",
  /** AppFabric is throttling (429); `retryAfterSeconds` says when to come back, when AWS said. */
  THROTTLED = "THROTTLED",
  /** AppFabric failed (500 InternalServerException, other 5xx, or an unexpected status). */
  UPSTREAM_ERROR = "UPSTREAM_ERROR",
  /** No usable answer: timeout, connection failure, unreadable response. */
  UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE",
  /**
   * This caller has used up one of its budgets of AppFabric's capacity (task ids per second, starts per
   * minute, its share of the queue or of watched ids); nothing was sent. `retryAfterSeconds` says when to
   * come back; other callers are unaffected (HTTP 429 when nothing of the request could run).
   */
  RATE_LIMITED = "RATE_LIMITED",
  /** This service has as much AppFabric work waiting as it allows; nothing was sent. Try again shortly. */
  OVERLOADED = "OVERLOADED",
  /**
   * With PERSISTED_DOCUMENTS: the request named a persisted document the manifest does not list, or
   * (in `require` mode) sent a document that is not one of them; nothing was parsed (HTTP 400).
   */
  PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST",
  /** A subscription reached its maximum lifetime (SUBSCRIPTION_MAX_LIFETIME_S); subscribe again to keep watching. */
  SUBSCRIPTION_EXPIRED = "SUBSCRIPTION_EXPIRED",
  /** A fault of this service itself (for example no AWS credentials); details are only in its logs. */
  INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR",
}
