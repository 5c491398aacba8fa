import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy } from "@smithy/core/retry";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, RetryErrorType, StandardRetryToken } from "@smithy/types";
import PQueue from "p-queue";
import {
  BATCH_GET_USER_ACCESS_TASKS_PATH,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_MAX_QUEUED_CALLS,
  DEFAULT_TIMEOUT_MS,
  SIGNING_SERVICE,
  START_USER_ACCESS_TASKS_PATH,
} from "./constants.js";
import {
  AppFabricServiceError,
  AppFabricTransportError,
  CredentialsUnavailableError,
  deadlineError,
  OverloadedError,
  untilDeadline,
  type ResponseMetadata,
  type TransportFailure,
} from "./errors.js";
import { isRecord } from "./isRecord.js";
import { parseServiceError } from "./parseServiceError.js";
import type { BatchGetUserAccessTasksRequest, StartUserAccessTasksRequest, UserAccessResultItem, UserAccessTaskItem } from "./types.js";

export interface AppFabricClientOptions {
  /** Base URL, e.g. `https://appfabric.us-east-1.amazonaws.com` or the emulator's. */
  endpoint: URL;
  /** SigV4 signing region. */
  region: string;
  /** The app bundle every call is made for (one bundle per deployment). */
  appBundleIdentifier: string;
  /**
   * Static credentials or a provider. Providers from `@aws-sdk/credential-providers` cache and
   * refresh on their own, so calling one per request costs nothing after the first resolve.
   */
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Injected for tests that record calls; the global `fetch` otherwise. */
  fetch?: typeof globalThis.fetch;
  /** Per-attempt timeout covering connect, headers and body. */
  timeoutMs?: number;
  /** Attempts per call, the first included (AWS SDK standard retries). */
  maxAttempts?: number;
  /** Attempts in flight at once in this process; more wait in a queue. */
  maxConcurrency?: number;
  /** Attempts that may wait for a slot; past this a call fails at once with `OverloadedError`. */
  maxQueuedCalls?: number;
  /** Signing clock; injected for deterministic signatures in tests. */
  now?: () => Date;
  /** Told when each call starts and ends, for logs and metrics. */
  observer?: AppFabricCallObserver;
}

/** Watches AppFabric calls. Its methods must not throw. */
/** Per-call options. */
export interface CallOptions {
  /**
   * The operation's deadline. When it aborts, nothing more is sent for the call: a queued attempt is
   * dropped, an attempt in flight is cancelled, and no retry follows.
   */
  signal?: AbortSignal;
}

export interface AppFabricCallObserver {
  callStarted(operation: AppFabricCallEvent["operation"]): void;
  callEnded(event: AppFabricCallEvent): void;
}

/** One finished AppFabric call, as logs and metrics see it. Carries no ids, names or emails. */
export interface AppFabricCallEvent {
  operation: "BatchGetUserAccessTasks" | "StartUserAccessTasks";
  /** How many task ids the call carried. */
  ids: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The HTTP status, or what happened instead of one (`not_sent`: its callers had gone before it left). */
  outcome: number | TransportFailure | "credentials" | "not_sent";
  /** The AWS error type of an error answer. */
  errorType?: string;
  awsRequestId?: string;
  durationMs: number;
}

/**
 * A minimal AppFabric client: builds the restJson1 request, signs it with SigV4 and turns every
 * outcome into either parsed data, an `AppFabricServiceError` (AWS said no) or an
 * `AppFabricTransportError` (no usable answer).
 *
 * Retries are AWS SDKs' own: smithy's `StandardRetryStrategy` (at most `maxAttempts`, full-jitter
 * backoff from 50 ms, or 1 s when throttled, `Retry-After` honoured within backoff + 5 s, and one retry
 * quota of 500 tokens for the whole client, so a struggling AppFabric is not hammered). Only
 * throttling and transient failures are retried. Every attempt takes a slot of `maxConcurrency`; a
 * retry waiting out its backoff holds none.
 */
export class AppFabricClient {
  readonly #signer: SignatureV4;
  readonly #fetch: typeof globalThis.fetch;
  readonly #endpoint: URL;
  readonly #appBundleIdentifier: string;
  readonly #timeoutMs: number;
  readonly #now: () => Date;
  readonly #observer: AppFabricCallObserver | undefined;
  readonly #retryStrategy: StandardRetryStrategy;
  readonly #slots: PQueue;
  readonly #maxQueuedCalls: number;

  constructor(options: AppFabricClientOptions) {
    this.#signer = new SignatureV4({
      service: SIGNING_SERVICE,
      region: options.region,
      credentials: options.credentials,
      sha256: Hash.bind(null, "sha256"),
    });
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#endpoint = options.endpoint;
    this.#appBundleIdentifier = options.appBundleIdentifier;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = options.now ?? (() => new Date());
    this.#observer = options.observer;
    this.#retryStrategy = new StandardRetryStrategy(options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    this.#slots = new PQueue({ concurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY });
    this.#maxQueuedCalls = options.maxQueuedCalls ?? DEFAULT_MAX_QUEUED_CALLS;
  }

  /**
   * `BatchGetUserAccessTasks` for 1..50 lower-case task ids. Results come back in no promised order
   * and not necessarily one per id: callers match them by `taskId`.
   */
  async batchGetUserAccessTasks(taskIdList: readonly string[], options: CallOptions = {}): Promise<UserAccessResultItem[]> {
    const request: BatchGetUserAccessTasksRequest = {
      appBundleIdentifier: this.#appBundleIdentifier,
      taskIdList: [...taskIdList],
    };
    const { body, metadata } = await this.#withRetries("BatchGetUserAccessTasks", options.signal, RETRY_AS_THE_STRATEGY_DECIDES, (attempt) =>
      this.#observed("BatchGetUserAccessTasks", taskIdList.length, attempt, () => this.#post(BATCH_GET_USER_ACCESS_TASKS_PATH, request, options.signal)),
    );
    const list = isRecord(body) ? body["userAccessResultsList"] : undefined;
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every(isRecord)) {
      throw new AppFabricTransportError("unreadable", "AppFabric's answer has no readable userAccessResultsList", { metadata });
    }
    return list;
  }

  /**
   * `StartUserAccessTasks` for one person: one task per application of the bundle. Not idempotent,
   * so it is retried only when AWS throttled it (refused before doing anything): after a timeout or a
   * 500 the tasks may have started, and a second call would start them again.
   */
  async startUserAccessTasks(email: string, options: CallOptions = {}): Promise<UserAccessTaskItem[]> {
    const request: StartUserAccessTasksRequest = { appBundleIdentifier: this.#appBundleIdentifier, email };
    const { body, metadata } = await this.#withRetries("StartUserAccessTasks", options.signal, RETRY_THROTTLING_ONLY, (attempt) =>
      this.#observed("StartUserAccessTasks", 1, attempt, () => this.#post(START_USER_ACCESS_TASKS_PATH, request, options.signal)),
    );
    const list = isRecord(body) ? body["userAccessTasksList"] : undefined;
    if (list === undefined) return [];
    if (!Array.isArray(list) || !list.every((item) => isRecord(item) && typeof item["app"] === "string" && typeof item["tenantId"] === "string")) {
      throw new AppFabricTransportError("unreadable", "AppFabric's answer has no readable userAccessTasksList", { metadata });
    }
    return list as UserAccessTaskItem[];
  }

  /**
   * Runs `attempt` until it succeeds or the retry strategy says stop; each attempt waits for a
   * concurrency slot. The last failure is what the caller sees.
   */
  async #withRetries<T>(
    operation: string,
    deadline: AbortSignal | undefined,
    retryable: ReadonlySet<RetryErrorType>,
    attempt: (attempt: number) => Promise<T>,
  ): Promise<T> {
    let token: StandardRetryToken = await this.#retryStrategy.acquireInitialRetryToken(operation);
    for (let attemptNumber = 1; ; attemptNumber++) {
      try {
        const result = await this.#inSlot(() => attempt(attemptNumber), deadline);
        this.#retryStrategy.recordSuccess(token);
        return result;
      } catch (error) {
        const errorType = retryErrorType(error);
        if (deadline?.aborted || errorType === undefined || !retryable.has(errorType)) throw error;
        try {
          // The strategy sleeps out the backoff itself; the deadline cuts that sleep short.
          token = await untilDeadline(this.#retryStrategy.refreshRetryTokenForRetry(token, { errorType, retryAfterHint: retryAfterHint(error) }), deadline);
        } catch {
          throw error;
        }
      }
    }
  }

  /**
   * Runs `task` when a concurrency slot is free. A caller whose deadline passes while it waits leaves
   * the queue at once (p-queue removes it), so nothing is sent for it; a full queue refuses at once.
   */
  async #inSlot<T>(task: () => Promise<T>, deadline: AbortSignal | undefined): Promise<T> {
    if (deadline?.aborted) throw deadlineError(deadline.reason);
    if (this.#slots.size >= this.#maxQueuedCalls) throw new OverloadedError(`${this.#slots.size} calls queued`);
    try {
      return await this.#slots.add(task, { signal: deadline });
    } catch (error) {
      // p-queue rejects a queued task with the signal's reason: the deadline passed before it was sent.
      if (deadline?.aborted && error === deadline.reason) throw deadlineError(error);
      throw error;
    }
  }

  /** Runs one attempt and tells the observer when it starts and how it ends. */
  async #observed<T extends { metadata: ResponseMetadata }>(
    operation: AppFabricCallEvent["operation"],
    ids: number,
    attempt: number,
    call: () => Promise<T>,
  ): Promise<T> {
    this.#observer?.callStarted(operation);
    const started = performance.now();
    const report = (event: Pick<AppFabricCallEvent, "outcome" | "errorType" | "awsRequestId">) =>
      this.#observer?.callEnded({ operation, ids, attempt, durationMs: performance.now() - started, ...event });
    try {
      const result = await call();
      report({ outcome: result.metadata.httpStatusCode ?? 200, awsRequestId: result.metadata.requestId });
      return result;
    } catch (error) {
      if (error instanceof AppFabricServiceError) {
        report({ outcome: error.details.statusCode, errorType: error.details.errorType, awsRequestId: error.details.requestId });
      } else if (error instanceof AppFabricTransportError) {
        report({ outcome: error.mayHaveReachedAppFabric ? error.failure : "not_sent", awsRequestId: error.$metadata.requestId });
      } else {
        report({ outcome: error instanceof CredentialsUnavailableError ? "credentials" : "connection" });
      }
      throw error;
    }
  }

  async #post(path: string, payload: object, deadline: AbortSignal | undefined): Promise<{ body: unknown; metadata: ResponseMetadata }> {
    const url = new URL(this.#endpoint.pathname.replace(/\/$/, "") + path, this.#endpoint);
    const body = JSON.stringify(payload);
    const headers = await this.#sign(url, body);
    // Signing yields to the event loop: the callers may have gone meanwhile.
    if (deadline?.aborted) throw deadlineError(deadline.reason);

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(url, {
        method: "POST",
        headers,
        body,
        signal: deadline ? AbortSignal.any([AbortSignal.timeout(this.#timeoutMs), deadline]) : AbortSignal.timeout(this.#timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw deadline?.aborted ? deadlineError(error, true) : toTransportError(error, this.#timeoutMs);
    }

    const responseHeaders = Object.fromEntries(response.headers);
    if (!response.ok) throw parseServiceError(response.status, responseHeaders, text);
    const metadata = { httpStatusCode: response.status, requestId: responseHeaders["x-amzn-requestid"] };
    try {
      return { body: JSON.parse(text) as unknown, metadata };
    } catch (error) {
      const cause = error instanceof Error ? error : undefined;
      throw new AppFabricTransportError("unreadable", "AppFabric's answer is not valid JSON", { cause, metadata });
    }
  }

  /** The headers to send, SigV4-signed. A failure here is the credential chain's: nothing was sent. */
  async #sign(url: URL, body: string): Promise<Record<string, string>> {
    try {
      const signed = await this.#signer.sign(
        {
          method: "POST",
          protocol: url.protocol,
          hostname: url.hostname,
          port: url.port ? Number(url.port) : undefined,
          path: url.pathname,
          query: {},
          // fetch sends the URL's own host (it ignores a `host` header), so that is the host signed.
          headers: { host: url.host, "content-type": "application/json" },
          body,
        },
        { signingDate: this.#now() },
      );
      return signed.headers;
    } catch (error) {
      throw new CredentialsUnavailableError(error);
    }
  }
}

const RETRY_AS_THE_STRATEGY_DECIDES: ReadonlySet<RetryErrorType> = new Set(["THROTTLING", "TRANSIENT", "SERVER_ERROR", "CLIENT_ERROR"]);
const RETRY_THROTTLING_ONLY: ReadonlySet<RetryErrorType> = new Set(["THROTTLING"]);

/** What the retry strategy needs to know of a failure; undefined for failures never retried. */
function retryErrorType(error: unknown): RetryErrorType | undefined {
  if (!(error instanceof AppFabricServiceError || error instanceof AppFabricTransportError)) return undefined;
  if (isThrottlingError(error)) return "THROTTLING";
  if (isTransientError(error)) return "TRANSIENT";
  return isServerError(error) ? "SERVER_ERROR" : "CLIENT_ERROR";
}

function retryAfterHint(error: unknown): Date | undefined {
  const seconds = error instanceof AppFabricServiceError ? error.details.retryAfterSeconds : undefined;
  return seconds === undefined ? undefined : new Date(Date.now() + seconds * 1000);
}

function toTransportError(error: unknown, timeoutMs: number): AppFabricTransportError {
  const cause = error instanceof Error ? error : new Error(String(error));
  if (cause.name === "TimeoutError") {
    return new AppFabricTransportError("timeout", `AppFabric did not answer within ${timeoutMs} ms`, { cause });
  }
  const raw = errorCode(cause);
  const code = raw === undefined ? undefined : (UNDICI_TO_NODE_ERROR_CODES[raw] ?? raw);
  return new AppFabricTransportError("connection", `The connection to AppFabric failed${code ? ` (${code})` : ""}`, {
    cause,
    code,
    mayHaveReachedAppFabric: raw === undefined || !NOT_CONNECTED_ERROR_CODES.has(raw),
  });
}

/** Failures that happen before a connection exists, so the request cannot have reached AppFabric. */
const NOT_CONNECTED_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/**
 * fetch (undici) names socket failures its own way; AWS SDKs, on Node's http module, see the Node
 * codes and smithy's classifiers know only those. A connection dropped mid-answer is `ECONNRESET` to
 * them and retryable, so it must be here too.
 */
const UNDICI_TO_NODE_ERROR_CODES: Record<string, string> = {
  UND_ERR_SOCKET: "ECONNRESET",
  UND_ERR_CLOSED: "ECONNRESET",
  UND_ERR_CONNECT_TIMEOUT: "ETIMEDOUT",
  UND_ERR_HEADERS_TIMEOUT: "ETIMEDOUT",
  UND_ERR_BODY_TIMEOUT: "ETIMEDOUT",
};

/** The Node error code (`ECONNRESET`, `UND_ERR_SOCKET`…) of an error or of the error that caused it. */
function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; isRecord(current) && depth < 5; current = current["cause"], depth++) {
    if (typeof current["code"] === "string") return current["code"];
  }
  return undefined;
}
