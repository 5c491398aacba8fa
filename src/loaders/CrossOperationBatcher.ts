import { MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import { untilDeadline } from "../appfabric/errors.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { matchByTaskId, type BatchGetter, type UserAccessTaskSource } from "./UserAccessTaskSource.js";

export interface CrossOperationBatcherOptions {
  /** How long the first id waits for company before a call goes out. */
  windowMs: number;
  /** Calls in flight at once; while all are busy, waiting ids gather into the next call. */
  maxInFlight: number;
}

type Result = UserAccessResultItem | undefined;

interface Waiting {
  promise: Promise<Result>;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
}

/**
 * Shares AppFabric calls between concurrent operations (of one app bundle: one batcher per client).
 *
 * Why a window: frontends poll with many small operations, one or a few ids each. Per-operation
 * batching turns each of them into its own call, so a busy page spends AppFabric's throttling budget
 * one id at a time. Here the first id to arrive waits up to `windowMs` for others (from any operation)
 * before a call goes out; a call goes out at once when 50 ids are waiting. The cost is at most
 * `windowMs` of added latency for the first id of a call; the gain is one call for many operations.
 *
 * Under load the batches grow on their own: at most `maxInFlight` calls are out at once, and while
 * they are, new ids keep gathering for the next call instead of queueing as small calls. An id that
 * is already in a call (or waiting for one) is never asked for twice: later askers share its answer.
 *
 * Each operation still has its own loader and cache and sees only the ids it asked for. A failed call
 * fails only its ids, for every operation that asked for them. An operation's deadline ends its own
 * wait; the shared call goes on for the others, bounded by the client's timeout and retries.
 */
export class CrossOperationBatcher implements UserAccessTaskSource {
  readonly #client: BatchGetter;
  readonly #options: CrossOperationBatcherOptions;
  /** Ids waiting for a call, in arrival order. */
  readonly #waiting = new Map<string, Waiting>();
  /** Ids in a call under way. */
  readonly #inFlight = new Map<string, Waiting>();
  #callsInFlight = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(client: BatchGetter, options: CrossOperationBatcherOptions) {
    this.#client = client;
    this.#options = options;
  }

  async loadUserAccessTasks(taskIds: readonly string[], options: { signal?: AbortSignal } = {}) {
    const answers = taskIds.map((taskId) => this.#join(taskId).promise.catch((error: unknown) => asError(error)));
    this.#schedule();
    // One deadline listener for the whole batch, not one per id.
    return untilDeadline(Promise.all(answers), options.signal).catch((error: unknown) => taskIds.map(() => asError(error)));
  }

  /** The shared wait for one id: the call it is in, the one it waits for, or a new place in line. */
  #join(taskId: string): Waiting {
    const existing = this.#inFlight.get(taskId) ?? this.#waiting.get(taskId);
    if (existing) return existing;
    const waiting = deferred();
    this.#waiting.set(taskId, waiting);
    return waiting;
  }

  #schedule(): void {
    if (this.#waiting.size >= MAX_TASK_IDS_PER_BATCH) this.#dispatch();
    else if (this.#waiting.size > 0 && this.#timer === undefined) this.#timer = setTimeout(() => this.#dispatch(), this.#options.windowMs);
  }

  /** Sends waiting ids, 50 to a call, while a call slot is free. */
  #dispatch(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#waiting.size > 0 && this.#callsInFlight < this.#options.maxInFlight) {
      // The oldest 50, without copying the whole line (it can be long while every slot is busy).
      const batch: Array<[string, Waiting]> = [];
      for (const entry of this.#waiting) {
        batch.push(entry);
        if (batch.length === MAX_TASK_IDS_PER_BATCH) break;
      }
      for (const [taskId, waiting] of batch) {
        this.#waiting.delete(taskId);
        this.#inFlight.set(taskId, waiting);
      }
      void this.#send(batch);
    }
  }

  async #send(batch: Array<[string, Waiting]>): Promise<void> {
    this.#callsInFlight += 1;
    const taskIds = batch.map(([taskId]) => taskId);
    try {
      const results = matchByTaskId(taskIds, await this.#client.batchGetUserAccessTasks(taskIds));
      batch.forEach(([, waiting], index) => waiting.resolve(results[index]));
    } catch (error) {
      const failure = asError(error);
      for (const [, waiting] of batch) waiting.reject(failure);
    } finally {
      for (const taskId of taskIds) this.#inFlight.delete(taskId);
      this.#callsInFlight -= 1;
      // Ids that gathered while every slot was busy go out now: they have waited long enough.
      if (this.#waiting.size > 0) this.#dispatch();
    }
  }
}

function deferred(): Waiting {
  let resolve!: (result: Result) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<Result>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A shared answer may fail after every asker gave up; that is not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
