import type { Clock } from "../lib/Clock.js";
import { MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { taskNotFoundError } from "../errors/taskErrors.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";
import { SnapshotStream } from "./SnapshotStream.js";
import type { TaskSubscription, TaskWatcherOptions } from "./TaskWatcherOptions.js";
import {
  backoffMs,
  CallerShares,
  hasWorkLeft,
  retryAfterMsOf,
  snapshotOf,
  describe,
  subscriptionExpiredError,
  timer,
  toPosition,
  watchLimitError,
  unwatchFor,
  watchFor,
} from "./watchState.js";
import type { Load, Subscriber, Watched, WatchedTask } from "./watchState.js";

/**
 * One shared poller for every subscription of the process.
 *
 * Each watched id is asked for once per interval, whoever watches it and however many do: every
 * `intervalMs` the poller asks its source (the cross-operation batcher, whose calls queries share) for
 * the watched ids that can still change, 50 to a load, and hands each subscriber a fresh snapshot of its
 * own list when one of its tasks changed (status, task error, or the error in its place). A new
 * subscriber gets its first snapshot at once: ids someone already watches answer from what the poller
 * knows, the others are asked for on the spot.
 *
 * Nothing outlives the subscribers: an id nobody watches is forgotten at once, a load none of whose ids
 * is watched any more is cancelled, and with nothing left to poll the poller stops. While AppFabric
 * throttles or fails (after the client's own retries), the poller waits longer between polls
 * (`Retry-After`, else doubling, up to 30 s), and subscribers see the error in the task's place and
 * stay subscribed.
 */
export class TaskWatcher {
  readonly #options: TaskWatcherOptions;
  readonly #setTimer: (run: () => void, ms: number) => () => void;
  readonly #now: Clock;
  readonly #watched = new Map<string, Watched>();
  readonly #subscribers = new Set<Subscriber>();
  readonly #callerShares: CallerShares;
  #cancelPoll: (() => void) | undefined;
  #polling = false;
  /** Polls in a row with a retryable failure. */
  #failures = 0;

  constructor(options: TaskWatcherOptions) {
    this.#options = options;
    this.#setTimer = options.setTimer ?? timer;
    this.#now = options.now ?? performance.now.bind(performance);
    this.#callerShares = new CallerShares(options.maxWatchedIdsPerCaller, () => options.observer?.watchShareRefused());
  }

  /** Active subscriptions, and distinct ids watched. */
  get size(): { subscriptions: number; watchedIds: number } {
    return { subscriptions: this.#subscribers.size, watchedIds: this.#watched.size };
  }

  /** How many distinct, well-formed ids of `taskIds` nobody watches yet: what subscribing would ask AppFabric for at once. */
  unwatched(taskIds: readonly string[]): number {
    const fresh = new Set<string>();
    for (const position of taskIds.map(toPosition)) if ("taskId" in position && !this.#watched.has(position.taskId)) fresh.add(position.taskId);
    return fresh.size;
  }

  /**
   * Watches `taskIds` (as the caller wrote them: normalised here, malformed ones answered with
   * `BAD_USER_INPUT` in their place). Throws `OVERLOADED` when the process watches as much as it may,
   * and `RATE_LIMITED` when the caller (`callerKey`) would watch more distinct ids than its share.
   */
  subscribe(taskIds: readonly string[], callerKey?: string): TaskSubscription {
    const positions = taskIds.map(toPosition);
    const caller =
      callerKey === undefined
        ? undefined
        : { key: callerKey, taskIds: new Set(positions.flatMap((position) => ("taskId" in position ? [position.taskId] : []))) };
    if (caller !== undefined) this.#callerShares.admit(caller);
    const fresh = new Set(positions.flatMap((position) => ("taskId" in position && !this.#watched.has(position.taskId) ? [position.taskId] : [])));
    if (this.#subscribers.size >= this.#options.maxSubscriptions) {
      throw watchLimitError(`${this.#subscribers.size} subscriptions are active`);
    }
    if (this.#watched.size + fresh.size > this.#options.maxWatchedIds) {
      throw watchLimitError(`${this.#watched.size} task ids are watched`);
    }
    const subscriber: Subscriber = {
      positions,
      ...(caller === undefined ? {} : { caller }),
      stream: new SnapshotStream<WatchedTask[]>(() => this.#unsubscribe(subscriber)),
      changed: true,
      sent: 0,
      cancelLifetime: () => undefined,
    };
    this.#subscribers.add(subscriber);
    if (caller !== undefined) this.#callerShares.add(caller);
    watchFor(this.#watched, subscriber);
    subscriber.cancelLifetime = this.#setTimer(() => {
      subscriber.outcome ??= "expired";
      subscriber.stream.end(subscriptionExpiredError(this.#options.maxLifetimeMs));
    }, this.#options.maxLifetimeMs);
    const unknown = [...fresh].filter((taskId) => this.#watched.get(taskId)?.loading === undefined);
    void this.#load(unknown);
    this.#deliver();
    this.#startPolling();
    return {
      events: subscriber.stream,
      get sent() {
        return subscriber.sent;
      },
      get outcome() {
        return subscriber.outcome;
      },
    };
  }

  /** Ends every subscription (the server is stopping) and stops polling. */
  close(): void {
    for (const subscriber of [...this.#subscribers]) {
      subscriber.outcome ??= "cancelled";
      void subscriber.stream.return();
    }
    this.#cancelPoll?.();
    this.#cancelPoll = undefined;
  }

  #unsubscribe(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    subscriber.outcome ??= "cancelled";
    subscriber.cancelLifetime();
    if (subscriber.caller !== undefined) this.#callerShares.release(subscriber.caller);
    unwatchFor(this.#watched, subscriber);
    if (!hasWorkLeft(this.#watched)) {
      this.#cancelPoll?.();
      this.#cancelPoll = undefined;
    }
  }

  /** Asks the source for `taskIds`, 50 to a load; resolves when every load has been applied. */
  async #load(taskIds: readonly string[]): Promise<void> {
    const loads: Promise<void>[] = [];
    for (let start = 0; start < taskIds.length; start += MAX_TASK_IDS_PER_BATCH) {
      const chunk = taskIds.slice(start, start + MAX_TASK_IDS_PER_BATCH);
      const load: Load = { controller: new AbortController(), wanted: chunk.length };
      for (const taskId of chunk) {
        const watched = this.#watched.get(taskId);
        if (watched !== undefined) watched.loading = load;
      }
      loads.push(
        this.#options.source.loadUserAccessTasks(chunk, { signal: load.controller.signal }).then((results) => {
          chunk.forEach((taskId, index) => this.#apply(taskId, load, results[index]));
          this.#deliver();
        }),
      );
    }
    await Promise.all(loads);
  }

  /** Records one id's answer from `load`, unless the id was dropped (and perhaps watched anew) since. */
  #apply(taskId: string, load: Load, result: UserAccessResultItem | undefined | Error): void {
    const watched = this.#watched.get(taskId);
    if (watched === undefined || watched.loading !== load) return;
    watched.loading = undefined;
    const value = result === undefined ? taskNotFoundError(taskId) : result instanceof Error ? toGraphQLError(result) : result;
    const next = describe(value);
    if (watched.current?.key === next.key) return;
    watched.current = next;
    for (const subscriber of watched.subscribers) subscriber.changed = true;
  }

  /** Hands a snapshot to every subscriber with a change and an answer for each of its ids; ends the finished ones. */
  #deliver(): void {
    for (const subscriber of this.#subscribers) {
      if (!subscriber.changed) continue;
      const snapshot = snapshotOf(subscriber, this.#watched);
      if (snapshot === undefined) continue;
      subscriber.changed = false;
      subscriber.sent += 1;
      subscriber.stream.push(snapshot.tasks);
      if (snapshot.final) {
        subscriber.outcome ??= "completed";
        subscriber.stream.end();
      }
    }
  }

  #startPolling(): void {
    if (this.#cancelPoll !== undefined || this.#polling || !hasWorkLeft(this.#watched)) return;
    this.#cancelPoll = this.#setTimer(() => void this.#poll(), this.#options.intervalMs);
  }

  /** One poll: every watched id that can still change and is not being loaded already. */
  async #poll(): Promise<void> {
    this.#cancelPoll = undefined;
    const startedAt = this.#now();
    const due = [...this.#watched].flatMap(([taskId, watched]) =>
      watched.current !== undefined && !watched.current.final && watched.loading === undefined ? [taskId] : [],
    );
    if (due.length === 0) {
      this.#startPolling();
      return;
    }
    this.#polling = true;
    try {
      await this.#load(due);
    } finally {
      this.#polling = false;
    }
    this.#options.observer?.watcherPolled(due.length);
    const retryAfterMs = retryAfterMsOf(due, this.#watched);
    this.#failures = retryAfterMs === undefined ? 0 : this.#failures + 1;
    if (!hasWorkLeft(this.#watched) || this.#cancelPoll !== undefined) return;
    const backoff = backoffMs(retryAfterMs, this.#options.intervalMs, this.#failures);
    const wait = Math.max(this.#options.intervalMs - (this.#now() - startedAt), backoff);
    this.#cancelPoll = this.#setTimer(() => void this.#poll(), wait);
  }
}
