import { MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import { ensureError } from "../lib/ensureError.js";
import { deadlineError, OverloadedError, untilDeadline } from "../appfabric/errors.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { TraceFlags, type SpanContext } from "@opentelemetry/api";
import type { CallTrace } from "../appfabric/callEvents.js";
import { RateLimitedError } from "../errors/RateLimitedError.js";
import { matchByTaskId, type BatchGetter, type LoadOptions, type UserAccessTaskSource } from "./UserAccessTaskSource.js";

export interface CrossOperationBatcherOptions {
  /** How long the first id waits for company before a call goes out. */
  windowMs: number;
  /** Calls in flight at once; while all are busy, waiting ids gather into the next call. */
  maxInFlight: number;
  /**
   * Ids that may wait for a call; past this, new ids fail at once with `OverloadedError`. With several
   * callers waiting, no caller may take more than its share (`RateLimitedError`), and callers below
   * their share may take places past it, up to twice this (see `#admission`).
   */
  maxQueuedIds: number;
  /** A caller's id was refused for holding its share of the line already (for the metric). */
  onShareRefused?: () => void;
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

type Result = UserAccessResultItem | undefined;

/** One id on its way to AppFabric, shared by every operation that asked for it. */
interface Entry {
  taskId: string;
  /** The caller whose place in line it holds (the first to ask for it); "" for loads with no caller. */
  owner: string;
  /** Operations still waiting for this id. At 0 it leaves the line, or stops holding its call up. */
  askers: number;
  promise: Promise<Result>;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  /** The call carrying it, once it has left the line. */
  call?: Call;
  /** The spans of the traced operations waiting for it (at most MAX_LINKS), in the order they asked. */
  origins?: SpanContext[];
}

/** One `BatchGetUserAccessTasks` call under way. */
interface Call {
  /** Ids of the call that someone still waits for. At 0 the call is cancelled. */
  wanted: number;
  controller: AbortController;
  /** The callers whose ids it carries. */
  owners: ReadonlySet<string>;
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
 * even when another has filled the line (see `#admission`), so a caller arriving during a flood always
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
  /** Ids waiting for a call, in arrival order. */
  readonly #waiting = new Map<string, Entry>();
  /**
   * The same ids by the caller whose place they hold, each caller's in arrival order; the callers in
   * the order they are next served (see `#nextBatch`).
   */
  readonly #byOwner = new Map<string, Map<string, Entry>>();
  /** Ids in a call under way. */
  readonly #inFlight = new Map<string, Entry>();
  #callsInFlight = 0;
  /** Calls under way that carry each caller's ids. */
  readonly #callsByOwner = new Map<string, number>();
  /** Cancels the window under way, if any. */
  #cancelWindow: (() => void) | undefined;
  #immediate: NodeJS.Immediate | undefined;

  constructor(client: BatchGetter, options: CrossOperationBatcherOptions) {
    this.#client = client;
    this.#options = options;
  }

  /** Ids waiting for a call and ids in calls under way (for tests and metrics). */
  get pending(): { waiting: number; inFlight: number; calls: number } {
    return { waiting: this.#waiting.size, inFlight: this.#inFlight.size, calls: this.#callsInFlight };
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
    let entry = this.#inFlight.get(taskId) ?? this.#waiting.get(taskId);
    if (entry === undefined) {
      const owner = caller ?? "";
      const queue = this.#byOwner.get(owner);
      const refusal = this.#admission(caller, queue);
      if (refusal !== undefined) return refusal;
      entry = newEntry(taskId, owner);
      this.#waiting.set(taskId, entry);
      if (queue === undefined) this.#byOwner.set(owner, new Map([[taskId, entry]]));
      else queue.set(taskId, entry);
    }
    entry.askers += 1;
    if (origin !== undefined && (entry.origins?.length ?? 0) < MAX_LINKS) (entry.origins ??= []).push(origin);
    return entry;
  }

  /**
   * Whether a new id of `caller` may take a place in line. A caller alone may fill it (a router's query
   * plan may list thousands of ids). With others waiting, each may hold an equal share; below its share a
   * caller gets in even when the line is full, up to twice `maxQueuedIds` in all, so that one caller
   * holding the whole line cannot keep everyone else out. Loads without a caller keep the plain bound.
   */
  #admission(caller: string | undefined, queue: ReadonlyMap<string, Entry> | undefined): OverloadedError | RateLimitedError | undefined {
    const { maxQueuedIds } = this.#options;
    const waiting = this.#waiting.size;
    if (caller === undefined) return waiting >= maxQueuedIds ? new OverloadedError(`${waiting} task ids queued`) : undefined;
    const callers = this.#byOwner.size + (queue === undefined ? 1 : 0);
    const mine = queue?.size ?? 0;
    if (callers > 1 && mine >= Math.max(1, Math.floor(maxQueuedIds / callers))) {
      this.#options.onShareRefused?.();
      return new RateLimitedError("queue_share", 1);
    }
    const bound = callers > 1 ? 2 * maxQueuedIds : maxQueuedIds;
    return waiting >= bound ? new OverloadedError(`${waiting} task ids queued`) : undefined;
  }

  #leaveLine(entry: Entry): void {
    this.#waiting.delete(entry.taskId);
    const queue = this.#byOwner.get(entry.owner);
    queue?.delete(entry.taskId);
    if (queue?.size === 0) this.#byOwner.delete(entry.owner);
  }

  /**
   * The next call's ids: one from each caller waiting in turn (oldest first), up to 50. A caller
   * served goes to the back of the turn order, so the next call starts with the callers this one
   * reached last. (A Map iterates entries re-added while it runs, which is what makes the turn go round.)
   */
  #nextBatch(): Entry[] {
    const batch: Entry[] = [];
    for (const [owner, queue] of this.#byOwner) {
      const [entry] = queue.values();
      if (entry === undefined) continue;
      this.#leaveLine(entry);
      if (queue.size > 0) {
        this.#byOwner.delete(owner);
        this.#byOwner.set(owner, queue);
      }
      batch.push(entry);
      if (batch.length === MAX_TASK_IDS_PER_BATCH) break;
    }
    return batch;
  }

  /** An operation stopped waiting for `entry` before it was answered. */
  #leave(entry: Entry, origin: SpanContext | undefined): void {
    entry.askers -= 1;
    // A caller who left is no longer served: the call's spans must not hang under its trace.
    const index = origin === undefined ? -1 : (entry.origins?.findIndex((candidate) => candidate.spanId === origin.spanId) ?? -1);
    if (index >= 0) entry.origins?.splice(index, 1);
    if (entry.askers > 0) return;
    if (this.#waiting.get(entry.taskId) === entry) {
      this.#leaveLine(entry);
      if (this.#waiting.size === 0) this.#cancelTimer();
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
    if (this.#waiting.size === 0) return;
    if (this.#waiting.size >= MAX_TASK_IDS_PER_BATCH || (this.#callsInFlight === 0 && this.#cancelWindow === undefined)) {
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
    while (this.#waiting.size > 0 && this.#callsInFlight < this.#options.maxInFlight && !this.#lastSlotKept()) {
      const batch = this.#nextBatch();
      const call: Call = { wanted: batch.length, controller: new AbortController(), owners: new Set(batch.map((entry) => entry.owner)) };
      for (const entry of batch) {
        this.#inFlight.set(entry.taskId, entry);
        entry.call = call;
      }
      void this.#send(batch, call);
    }
  }

  /**
   * Whether the last free slot must wait for another caller: only one caller's ids wait, and calls
   * carrying them already hold every slot but one. (Loads without a caller, the watcher's, are not held.)
   */
  #lastSlotKept(): boolean {
    if (this.#byOwner.size !== 1 || this.#options.maxInFlight < 2) return false;
    const [owner] = this.#byOwner.keys();
    if (owner === undefined || owner === "") return false;
    return (this.#callsByOwner.get(owner) ?? 0) >= this.#options.maxInFlight - 1;
  }

  #countCall(owners: ReadonlySet<string>, change: 1 | -1): void {
    for (const owner of owners) {
      const calls = (this.#callsByOwner.get(owner) ?? 0) + change;
      if (calls > 0) this.#callsByOwner.set(owner, calls);
      else this.#callsByOwner.delete(owner);
    }
  }

  async #send(batch: Entry[], call: Call): Promise<void> {
    this.#callsInFlight += 1;
    this.#countCall(call.owners, 1);
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
      this.#countCall(call.owners, -1);
      // Ids that gathered while every slot was busy go out now: they have waited long enough.
      if (this.#waiting.size > 0) this.#dispatch();
    }
  }
}

/** Links past this many are left off a call's spans (OpenTelemetry's default limit is 128). */
const MAX_LINKS = 32;

/**
 * Which traced operations a call serves, as it leaves: the first *sampled* operation still waiting
 * for one of its ids is the parent of its spans (so that a caller's "not sampled", or a caller who
 * left, never hides the call from a trace that is kept); the other sampled ones are linked. Only when
 * none is sampled is the first the parent, and the call's spans then follow its decision. An
 * operation that joins an id once its call has left is served by it but not linked.
 */
function traceOf(batch: readonly Entry[]): CallTrace | undefined {
  if (!batch.some((entry) => entry.origins !== undefined && entry.origins.length > 0)) return undefined; // tracing off
  const origins = batch.flatMap((entry) => entry.origins ?? []);
  const sampled = origins.filter((origin) => (origin.traceFlags & TraceFlags.SAMPLED) !== 0);
  const [parent] = sampled.length > 0 ? sampled : origins;
  if (parent === undefined) return undefined;
  const links = new Map<string, SpanContext>();
  for (const origin of sampled) {
    if (origin.spanId !== parent.spanId && links.size < MAX_LINKS) links.set(origin.spanId, origin);
  }
  return { parent, links: [...links.values()] };
}

function newEntry(taskId: string, owner: string): Entry {
  let resolve!: (result: Result) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<Result>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A shared answer may fail after every asker gave up; that is not an unhandled rejection.
  promise.catch(() => undefined);
  return { taskId, owner, askers: 0, promise, resolve, reject };
}
