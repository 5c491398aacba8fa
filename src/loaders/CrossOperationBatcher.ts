import { MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import { FairLine } from "./FairLine.js";
import { ensureError } from "../lib/ensureError.js";
import { deadlineError, type OverloadedError, untilDeadline } from "../appfabric/errors.js";
import type { SpanContext } from "@opentelemetry/api";
import { type RateLimitedError } from "../errors/RateLimitedError.js";
import { MAX_LINKS, newEntry, traceOf, type Call, type Entry } from "./batchEntry.js";
import { matchByTaskId, type BatchGetter, type LoadOptions, type UserAccessTaskSource } from "./UserAccessTaskSource.js";

/** What the batcher reports: an id refused for its caller holding its share of the line already. */
export interface BatcherObserver {
  queueShareRefused(): void;
}

export interface CrossOperationBatcherOptions {
  /** How long the first id waits for company before a call goes out. */
  windowMs: number;
  /** Calls in flight at once; while all are busy, waiting ids gather into the next call. */
  maxInFlight: number;
  /**
   * Ids that may wait for a call; past this, new ids fail at once with `OverloadedError`. With several
   * callers waiting, no caller may take more than its share (`RateLimitedError`), and callers below
   * their share may take places past it, up to twice this (see `FairLine`).
   */
  maxQueuedIds: number;
  /** What the batcher reports (the caller budgets' metric implements it). */
  observer?: BatcherObserver;
  /**
   * Runs `dispatch` once the window is over and returns a way to cancel it. The default is a
   * `setTimeout` of `windowMs`; tests pass their own, as DataLoader's `batchScheduleFn`, to decide when a
   * window ends without racing a clock.
   */
  scheduleWindow?: (dispatch: () => void, windowMs: number) => () => void;
}

/** The window as a real timer. */
function timerWindow(dispatch: () => void, windowMs: number): () => void {
  const timer = setTimeout(dispatch, windowMs);
  return () => clearTimeout(timer);
}

/**
 * Shares AppFabric calls between concurrent operations (of one app bundle: one batcher per client).
 *
 * Why a window: frontends poll with many small operations, one or a few ids each. Per-operation
 * batching turns each of them into its own call, so a busy page spends AppFabric's throttling budget
 * one id at a time. The window is adaptive. When no call is under way, an id goes out on the next turn
 * of the event loop with whatever arrived in the same turn: a lone client pays no window. While calls
 * are under way, the first id to arrive waits up to `windowMs` for others (from any operation); a call
 * goes out at once when 50 ids are waiting. Under load, then, the cost is at most `windowMs` of added
 * latency for the first id of a call; the gain is one call for many operations.
 *
 * Under load the batches grow on their own: at most `maxInFlight` calls are out at once, and while
 * they are, new ids keep gathering for the next call instead of queueing as small calls. An id that
 * is already in a call (or waiting for one) is never asked for twice: later askers share its answer.
 *
 * Work never outlives the operations that asked for it. Each id counts its askers; an operation that
 * ends early (its deadline passed, or its client hung up) stops counting. An id nobody waits for leaves
 * the line, and a call none of whose ids is still wanted is cancelled, retries included. The line is
 * bounded by `maxQueuedIds`: past it, new ids fail at once with a retryable error instead of waiting.
 *
 * The line is shared fairly between callers (`LoadOptions.caller`): a caller alone may fill it; with
 * others waiting, no caller may take more than an equal share, and a caller below its share gets in
 * even when another has filled the line (see `FairLine`), so a caller arriving during a flood always
 * finds room. Calls are filled round-robin over the callers
 * waiting, one id each in turn, so a caller with one id waits for the next free call slot, not behind
 * the flood's hundred calls; and the last free slot is kept for someone else, so one caller's ids alone
 * never take every slot, and a caller who arrives then is sent at once.
 *
 * Each operation still has its own loader and cache and sees only the ids it asked for. A failed call
 * fails only its ids, for every operation that asked for them.
 */
export class CrossOperationBatcher implements UserAccessTaskSource {
  readonly #client: BatchGetter;
  readonly #options: CrossOperationBatcherOptions;
  /** Ids waiting for a call. */
  readonly #line = new FairLine();
  /** Ids in a call under way. */
  readonly #inFlight = new Map<string, Entry>();
  #callsInFlight = 0;
  /** Cancels the window under way, if any. */
  #cancelWindow: (() => void) | undefined;
  #immediate: NodeJS.Immediate | undefined;

  constructor(client: BatchGetter, options: CrossOperationBatcherOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Ids waiting for a call and ids in calls under way (for tests). */
  get pending(): { waiting: number; inFlight: number; calls: number } {
    return { waiting: this.#line.size, inFlight: this.#inFlight.size, calls: this.#callsInFlight };
  }

  async loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}) {
    const { signal } = options;
    if (signal?.aborted) return taskIds.map(() => deadlineError(signal.reason));
    const joined: Entry[] = [];
    const answers = taskIds.map((taskId) => {
      const entry = this.#join(taskId, options.trace, options.caller);
      if (entry instanceof Error) return Promise.resolve(entry);
      joined.push(entry);
      return entry.promise.catch((error: unknown) => ensureError(error));
    });
    this.#schedule();
    // One deadline listener for the whole batch, not one per id.
    try {
      return await untilDeadline(Promise.all(answers), signal);
    } catch (error) {
      for (const entry of joined) this.#leave(entry, options.trace);
      return taskIds.map(() => ensureError(error));
    }
  }

  /** The shared wait for one id: the call it is in, the one it waits for, or a new place in line. */
  #join(taskId: string, origin: SpanContext | undefined, caller: string | undefined): Entry | OverloadedError | RateLimitedError {
    let entry = this.#inFlight.get(taskId) ?? this.#line.get(taskId);
    if (entry === undefined) {
      const refusal = this.#line.admit(caller, this.#options.maxQueuedIds, () => this.#options.observer?.queueShareRefused());
      if (refusal !== undefined) return refusal;
      entry = newEntry(taskId, caller ?? "");
      this.#line.add(entry);
    }
    entry.askers += 1;
    if (origin !== undefined && (entry.origins?.length ?? 0) < MAX_LINKS) (entry.origins ??= []).push(origin);
    return entry;
  }

  /** An operation stopped waiting for `entry` before it was answered. */
  #leave(entry: Entry, origin: SpanContext | undefined): void {
    entry.askers -= 1;
    // A caller who left is no longer served: the call's spans must not hang under its trace.
    const index = origin === undefined ? -1 : (entry.origins?.findIndex((candidate) => candidate.spanId === origin.spanId) ?? -1);
    if (index >= 0) entry.origins?.splice(index, 1);
    if (entry.askers > 0) return;
    if (this.#line.get(entry.taskId) === entry) {
      this.#line.remove(entry);
      if (this.#line.size === 0) this.#cancelTimer();
      return;
    }
    const { call } = entry;
    if (call === undefined || this.#inFlight.get(entry.taskId) !== entry) return;
    call.wanted -= 1;
    // Nobody waits for any id of this call: cancel it. Its ids leave the in-flight map now, so that a
    // later asker starts a fresh call instead of joining the cancelled one.
    if (call.wanted === 0) call.controller.abort(deadlineError());
  }

  /**
   * A call goes out on the next turn of the event loop, not at once: a request read from a socket's
   * buffer runs to here within one callback, and its caller's hang-up (the end of the same buffer) is
   * only seen on a later one. Waiting one turn lets the hang-up arrive before the call leaves. That turn
   * is all a full call waits, and all any call waits while no call is under way (nobody else is busy,
   * so nobody is likely to come within the window).
   */
  #schedule(): void {
    if (this.#line.size === 0) return;
    if (this.#line.size >= MAX_TASK_IDS_PER_BATCH || (this.#callsInFlight === 0 && this.#cancelWindow === undefined)) {
      this.#immediate ??= setImmediate(() => this.#dispatch());
    } else if (this.#cancelWindow === undefined && this.#immediate === undefined) {
      const schedule = this.#options.scheduleWindow ?? timerWindow;
      this.#cancelWindow = schedule(() => this.#dispatch(), this.#options.windowMs);
    }
  }

  #cancelTimer(): void {
    this.#cancelWindow?.();
    this.#cancelWindow = undefined;
    clearImmediate(this.#immediate);
    this.#immediate = undefined;
  }

  /** Sends waiting ids, 50 to a call, while a call slot is free. */
  #dispatch(): void {
    this.#cancelTimer();
    while (this.#line.size > 0 && this.#callsInFlight < this.#options.maxInFlight && !this.#line.lastSlotKept(this.#options.maxInFlight)) {
      const batch = this.#line.nextBatch();
      const call: Call = { wanted: batch.length, controller: new AbortController(), owners: new Set(batch.map((entry) => entry.owner)) };
      for (const entry of batch) {
        this.#inFlight.set(entry.taskId, entry);
        entry.call = call;
      }
      void this.#send(batch, call);
    }
  }

  async #send(batch: Entry[], call: Call): Promise<void> {
    this.#callsInFlight += 1;
    this.#line.countCall(call.owners, 1);
    const taskIds = batch.map((entry) => entry.taskId);
    const forget = () => {
      for (const entry of batch) if (this.#inFlight.get(entry.taskId) === entry) this.#inFlight.delete(entry.taskId);
    };
    call.controller.signal.addEventListener("abort", forget, { once: true });
    try {
      const results = matchByTaskId(taskIds, await this.#client.batchGetUserAccessTasks(taskIds, { signal: call.controller.signal, trace: traceOf(batch) }));
      batch.forEach((entry, index) => entry.resolve(results[index]));
    } catch (error) {
      const failure = ensureError(error);
      for (const entry of batch) entry.reject(failure);
    } finally {
      forget();
      call.controller.signal.removeEventListener("abort", forget);
      this.#callsInFlight -= 1;
      this.#line.countCall(call.owners, -1);
      // Ids that gathered while every slot was busy go out now: they have waited long enough.
      if (this.#line.size > 0) this.#dispatch();
    }
  }
}
