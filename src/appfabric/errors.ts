import type { ValidationExceptionField } from "./types.js";

/** What AWS told us about a response, in the shape smithy's error classifiers read (`$metadata`). */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  /** The answer refused this service's clock, and the transport has corrected it: one more attempt may succeed. */
  clockSkewCorrected?: true;
}

export interface AppFabricServiceErrorDetails {
  /** The cleaned error type (`ThrottlingException`), when AWS named one. */
  errorType?: string;
  statusCode: number;
  requestId?: string;
  /** AWS's own message. It may quote the request (a 403 quotes the canonical request): never forward it blindly. */
  awsMessage?: string;
  /** `ValidationException` only. */
  reason?: string;
  fieldList?: ValidationExceptionField[];
  /** `ResourceNotFoundException` only. */
  resourceId?: string;
  resourceType?: string;
  /** `ThrottlingException` only: the service and quota a raise would be asked for. */
  serviceCode?: string;
  quotaCode?: string;
  /** From `Retry-After` on 429 and 500 answers. */
  retryAfterSeconds?: number;
}

/**
 * AppFabric answered with an error status. `name` is the error type and `$metadata` carries the
 * status, as on an AWS SDK `ServiceException`, so smithy's `isThrottlingError`/`isTransientError`
 * classify it exactly as the SDKs would.
 */
export class AppFabricServiceError extends Error {
  declare readonly cause?: Error;
  readonly $metadata: ResponseMetadata;
  readonly details: AppFabricServiceErrorDetails;

  constructor(details: AppFabricServiceErrorDetails) {
    super(`AppFabric answered HTTP ${details.statusCode}${details.errorType ? ` (${details.errorType})` : ""}`);
    this.name = details.errorType ?? "AppFabricServiceError";
    this.details = details;
    this.$metadata = { httpStatusCode: details.statusCode, requestId: details.requestId };
  }
}

/**
 * AWS's answers about how this service signed, not about the caller's request: a wrong secret or
 * signature, a signature incomplete or made at a time 5 minutes or more from AWS's clock.
 */
const SIGNING_ERROR_TYPES: ReadonlySet<string> = new Set([
  "InvalidSignatureException",
  "SignatureDoesNotMatch",
  "IncompleteSignature",
  "IncompleteSignatureException",
  "MissingAuthenticationToken",
  "MissingAuthenticationTokenException",
  "RequestExpired",
  "RequestInTheFuture",
  "RequestTimeTooSkewed",
]);

/** Whether AWS refused the request for its signature or its time: this service's fault, never the caller's. */
export function isSigningError(errorType: string | undefined): boolean {
  return errorType !== undefined && SIGNING_ERROR_TYPES.has(errorType);
}

/** timeout: one attempt took too long; deadline: the whole operation's time ran out. */
export type TransportFailure = "timeout" | "deadline" | "connection" | "unreadable";

/**
 * No usable answer came back: the attempt timed out, the connection failed, or the body could not be
 * read as the API's JSON. `cause` keeps the underlying error (with its `code`, e.g. `ECONNRESET`) so
 * that smithy's classifiers see it.
 */
export class AppFabricTransportError extends Error {
  /** Always an `Error` (fetch's own, or a parse error), which smithy's classifiers walk for a `code`. */
  declare readonly cause?: Error;
  readonly failure: TransportFailure;
  readonly $metadata: ResponseMetadata;
  /** The Node network error code (`ECONNRESET`, `ECONNREFUSED`…), where there is one. */
  readonly code: string | undefined;
  /**
   * Whether AppFabric may have received the request. False only when it certainly did not: the call
   * never left its queue, or the connection could not even be opened. What a non-idempotent start
   * needs to know before anyone tries it again.
   */
  readonly mayHaveReachedAppFabric: boolean;

  constructor(
    failure: TransportFailure,
    message: string,
    options: { cause?: Error; metadata?: ResponseMetadata; code?: string; mayHaveReachedAppFabric?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    // TimeoutError is smithy's name for a retryable timeout; a passed deadline must not be retried.
    this.name = failure === "timeout" ? "TimeoutError" : "AppFabricTransportError";
    this.failure = failure;
    this.$metadata = options.metadata ?? {};
    this.code = options.code;
    this.mayHaveReachedAppFabric = options.mayHaveReachedAppFabric ?? true;
  }
}

/**
 * This process already has as much AppFabric work waiting as it allows; nothing was sent. The caller
 * may try again shortly. Refusing at once keeps memory and latency bounded under a flood.
 */
export class OverloadedError extends Error {
  constructor(what: string) {
    super(`This service has too much AppFabric work waiting (${what}); nothing was sent`);
    this.name = "OverloadedError";
  }
}

/**
 * The fleet holds AppFabric calls for longer than a caller should wait: a replica was throttled
 * (`throttled`), or the fleet's own call rate is used up (`rate`). Nothing was sent.
 */
export class HeldByFleetError extends Error {
  readonly reason: "throttled" | "rate";
  readonly retryAfterSeconds: number;
  constructor(reason: "throttled" | "rate", retryAfterSeconds: number) {
    super(
      reason === "throttled"
        ? "AppFabric is throttling this service's account (a 429 seen by this service); nothing was sent"
        : "This service's AppFabric call rate (APPFABRIC_MAX_CALLS_PER_SECOND) is used up; nothing was sent",
    );
    this.name = "HeldByFleetError";
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The operation ran out of time (or its caller went away); nothing more is sent for it. `sent` says
 * whether the request had already left for AppFabric when that happened.
 */
export function deadlineError(cause?: unknown, sent = false): AppFabricTransportError {
  return new AppFabricTransportError("deadline", "The operation's deadline passed before AppFabric answered", {
    cause: cause instanceof Error ? cause : undefined,
    mayHaveReachedAppFabric: sent,
  });
}

/** `promise`, or `deadlineError` as soon as the operation's `signal` aborts (one listener, removed after). */
export function untilDeadline<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(deadlineError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(deadlineError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * The credential provider chain found no usable credentials, so nothing was sent. A configuration
 * problem of this service, not of the caller's request. The provider's own message stays in `cause`.
 */
export class CredentialsUnavailableError extends Error {
  constructor(cause: unknown) {
    super("No usable AWS credentials were found for signing AppFabric requests", { cause });
    this.name = "CredentialsUnavailableError";
  }
}

/** AppFabric answered the call but had no result for this task id. */
export class TaskNotFoundError extends Error {
  readonly taskId: string;
  constructor(taskId: string) {
    super(`AppFabric has no user-access task with id ${taskId} in this app bundle`);
    this.name = "TaskNotFoundError";
    this.taskId = taskId;
  }
}
