import { isServerError, isThrottlingError, isTransientError, StandardRetryStrategy } from "@smithy/core/retry";
import type { RetryErrorType, StandardRetryToken } from "@smithy/types";
import PQueue from "p-queue";
import type { AppFabricCallEvent, AppFabricCallObserver, AppFabricOperation, CallTrace } from "./callEvents.js";
import type { Transport, TransportResponse } from "./createSignedTransport.js";
import { MAX_HOLD_WAIT_MS, type CallGate } from "./CallGate.js";
import { AppFabricServiceError, AppFabricTransportError, CredentialsUnavailableError, deadlineError, OverloadedError, untilDeadline } from "./errors.js";

export interface RetryingSenderOptions {
  /** Attempts per call, the first included (AWS SDK standard retries). */
  maxAttempts: number;
  /** Attempts in flight at once in this process; more wait in a queue. */
  maxConcurrency: number;
  /** Attempts that may wait for a slot; past this a call fails at once with `OverloadedError`. */
  maxQueuedCalls: number;
  /** Told when each attempt starts and ends. */
  observer?: AppFabricCallObserver;
  /** Asked before each attempt and told of each throttled one: the fleet's shared hold and rate. */
  gate?: CallGate;
}

/** One call as the retry layer sees it: what to send, and which failures may be tried again. */
export interface RetriedCall {
  operation: AppFabricOperation;
  path: string;
  payload: object;
  /** Task ids the call carries, for the observer. */
  ids: number;
  /** `all`: as the strategy decides; `throttling`: only failures AWS answered before doing anything. */
  retry: "all" | "throttling";
  deadline: AbortSignal | undefined;
  /** The traced operations it serves, for the attempts' spans. */
  trace?: CallTrace;
}

export type RetryingSender = (call: RetriedCall) => Promise<TransportResponse>;

/**
 * The retry layer over the transport, as smithy's retry middleware wraps `next`: it never sees HTTP.
 *
 * Retries are AWS SDKs' own: smithy's `StandardRetryStrategy` (at most `maxAttempts`, full-jitter
 * backoff from 50 ms, or 1 s when throttled, `Retry-After` honoured within backoff + 5 s, and one retry
 * quota of 500 tokens for the whole client, so a struggling AppFabric is not hammered). Only
 * throttling and transient failures are retried. Every attempt takes a slot of `maxConcurrency`; a
 * retry waiting out its backoff holds none. An attempt whose deadline passes while it waits for a slot
 * leaves the queue at once (p-queue removes it), and a full queue refuses at once.
 */
export function createRetryingSender(send: Transport, options: RetryingSenderOptions): RetryingSender {
  const strategy = new StandardRetryStrategy(options.maxAttempts);
  const slots = new PQueue({ concurrency: options.maxConcurrency });
  const { observer, gate } = options;

  const inSlot = async <T>(task: () => Promise<T>, deadline: AbortSignal | undefined): Promise<T> => {
    if (deadline?.aborted) throw deadlineError(deadline.reason);
    if (slots.size >= options.maxQueuedCalls) throw new OverloadedError(`${slots.size} calls queued`);
    let running: Promise<T> | undefined;
    try {
      return await slots.add(() => (running = task()), { signal: deadline });
    } catch (error) {
      // p-queue rejects with the signal's reason even when the task already runs: an attempt under way
      // answers for itself (it may have reached AppFabric); only a queued one was never sent.
      if (running !== undefined) return await running;
      if (deadline?.aborted && error === deadline.reason) throw deadlineError(error);
      throw error;
    }
  };

  /** One attempt, told to the observer when it starts and how it ends. */
  const observed = async (call: RetriedCall, attempt: number): Promise<TransportResponse> => {
    const ended = observer?.attemptStarted({ operation: call.operation, ids: call.ids, attempt, trace: call.trace });
    const started = performance.now();
    const report = (event: Pick<AppFabricCallEvent, "outcome" | "errorType" | "awsRequestId" | "clockSkewCorrected">) =>
      ended?.({ operation: call.operation, ids: call.ids, attempt, durationMs: performance.now() - started, ...event });
    try {
      const result = await send(call.path, call.payload, call.deadline);
      report({ outcome: result.metadata.httpStatusCode ?? 200, awsRequestId: result.metadata.requestId });
      return result;
    } catch (error) {
      report(outcomeOf(error));
      throw error;
    }
  };

  return async (call) => {
    const retryable = call.retry === "all" ? RETRY_AS_THE_STRATEGY_DECIDES : RETRY_THROTTLING_ONLY;
    let token: StandardRetryToken = await strategy.acquireInitialRetryToken(call.operation);
    /** When the gate let the attempt go: a 429 for it tells the gate which hold it answers. */
    let sentAt: number | undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        sentAt = await gate?.beforeAttempt(call.deadline);
        const result = await inSlot(() => observed(call, attempt), call.deadline);
        strategy.recordSuccess(token);
        return result;
      } catch (error) {
        const errorType = retryErrorType(error);
        if (errorType === "THROTTLING") gate?.throttled(retryAfterSeconds(error), sentAt);
        // Refused for this clock and corrected since: AWS did nothing with it, so even a start is sent again.
        const clockCorrected = error instanceof AppFabricServiceError && error.$metadata.clockSkewCorrected === true;
        if (call.deadline?.aborted || errorType === undefined || !(retryable.has(errorType) || clockCorrected)) throw error;
        // A hold longer than a caller waits: answer THROTTLED now rather than after a useless backoff.
        if (gate !== undefined && gate.heldForMs() > MAX_HOLD_WAIT_MS) throw error;
        try {
          // The strategy sleeps out the backoff itself; the deadline cuts that sleep short.
          token = await untilDeadline(strategy.refreshRetryTokenForRetry(token, { errorType, retryAfterHint: retryAfterHint(error) }), call.deadline);
        } catch {
          throw error;
        }
      }
    }
  };
}

const RETRY_AS_THE_STRATEGY_DECIDES: ReadonlySet<RetryErrorType> = new Set(["THROTTLING", "TRANSIENT", "SERVER_ERROR", "CLIENT_ERROR"]);
const RETRY_THROTTLING_ONLY: ReadonlySet<RetryErrorType> = new Set(["THROTTLING"]);

/** How an attempt ended, as the observer reports it. */
function outcomeOf(error: unknown): Pick<AppFabricCallEvent, "outcome" | "errorType" | "awsRequestId" | "clockSkewCorrected"> {
  if (error instanceof AppFabricServiceError) {
    const { statusCode, errorType, requestId } = error.details;
    return { outcome: statusCode, errorType, awsRequestId: requestId, ...(error.$metadata.clockSkewCorrected ? { clockSkewCorrected: true } : {}) };
  }
  if (error instanceof AppFabricTransportError) {
    return { outcome: error.mayHaveReachedAppFabric ? error.failure : "not_sent", awsRequestId: error.$metadata.requestId };
  }
  return { outcome: error instanceof CredentialsUnavailableError ? "credentials" : "connection" };
}

/** What the retry strategy needs to know of a failure; undefined for failures never retried. */
function retryErrorType(error: unknown): RetryErrorType | undefined {
  if (!(error instanceof AppFabricServiceError || error instanceof AppFabricTransportError)) return undefined;
  if (isThrottlingError(error)) return "THROTTLING";
  if (isTransientError(error)) return "TRANSIENT";
  return isServerError(error) ? "SERVER_ERROR" : "CLIENT_ERROR";
}

function retryAfterSeconds(error: unknown): number | undefined {
  return error instanceof AppFabricServiceError ? error.details.retryAfterSeconds : undefined;
}

function retryAfterHint(error: unknown): Date | undefined {
  const seconds = retryAfterSeconds(error);
  return seconds === undefined ? undefined : new Date(Date.now() + seconds * 1000);
}
