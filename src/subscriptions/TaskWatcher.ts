import { GraphQLError } from "graphql";
import { isTaskId, MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { ErrorCode } from "../errors/ErrorCode.js";
import { invalidTaskIdError, taskNotFoundError } from "../errors/taskErrors.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import { SnapshotStream } from "./SnapshotStream.js";
import { RateLimitedError } from "../errors/RateLimitedError.js";

/** What a subscriber is told about one position of its list: the task, or why it cannot be answered. */
export type WatchedTask = UserAccessResultItem | GraphQLError;

/** Statuses after which a task never changes again. */
const FINAL_STATUSES: ReadonlySet<string> = new Set(["COMPLETED", "FAILED", "EXPIRED"]);

/** How long a caller over its share of watched ids is told to wait: its other subscriptions end as their tasks do. */
const WATCH_SHARE_RETRY_S = 10;

/** The longest the poller waits between polls while AppFabric throttles or fails. */
const MAX_BACKOFF_MS = 30_000;

export interface TaskWatcherOptions {
  /** Where polls go: the same batcher as queries, so their calls are shared. */
  source: UserAccessTaskSource;
  /** Time between the starts of two polls (SUBSCRIPTION_WATCH_INTERVAL_MS). */
  intervalMs: number;
  /** Distinct task ids watched at once in this process; a subscription that would pass it is refused. */
  maxWatchedIds: number;
  /** Distinct task ids one caller's subscriptions may watch at once; a subscription that would pass it is `RATE_LIMITED`. */
  maxWatchedIdsPerCaller?: number;
  /** A subscription was refused for its caller's share of watched ids (metrics). */
  onShareRefused?: () => void;
  /** Subscriptions at once in this process; more are refused. */
  maxSubscriptions: number;
  /** The longest one subscription lasts; it then ends with `SUBSCRIPTION_EXPIRED`. */
  maxLifetimeMs: number;
  /** Runs `run` after `ms` and returns a way to cancel it; tests pass their own clock. */
  setTimer?: (run: () => void, ms: number) => () => void;
  /** Milliseconds from some fixed point, for the interval between polls; tests pass their own. */
  now?: () => number;
  /** Told after each poll how many ids it asked for (metrics). */
  onPoll?: (ids: number) => void;
}

/** The subscriber's view of the watcher: its snapshots, and counts for its log line. */
export interface TaskSubscription {
  /** The subscriber's list, at once and then on every change; ends when nothing can change any more. */
  events: SnapshotStream<WatchedTask[]>;
  /** Snapshots handed over so far. */
  readonly sent: number;
  /** How it ended, once it has: every task final, the client left, or its lifetime ran out. */
  readonly outcome: "completed" | "cancelled" | "expired" | undefined;
}

/** What the watcher knows of one task id. */
interface Watched {
  subscribers: Set<Subscriber>;
  /** The last answer, once there is one. */
  current?: { value: WatchedTask; final: boolean; key: string };
  /** The load under way for it, if any. */
  loading?: Load;
}

/** One `loadUserAccessTasks` of ≤ 50 ids; cancelled when none of its ids is watched any more. */
interface Load {
  controller: AbortController;
  wanted: number;
}

type Position = { taskId: string } | { error: GraphQLError };

interface Subscriber {
  positions: Position[];
  /** The caller's key and the distinct ids it counts against the caller's share, when it has a caller. */
  caller?: { key: string; taskIds: ReadonlySet<string> };
  stream: SnapshotStream<WatchedTask[]>;
  /** Whether one of its tasks changed since its last snapshot. */
  changed: boolean;
  sent: number;
  outcome?: "completed" | "cancelled" | "expired";
  cancelLifetime: () => void;
}

function timer(run: () => void, ms: number): () => void {
  const handle = setTimeout(run, ms);
  handle.unref();
  return () => clearTimeout(handle);
}

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
  readonly #now: () => number;
  readonly #watched = new Map<string, Watched>();
  readonly #subscribers = new Set<Subscriber>();
  /** Per caller: each id its subscriptions watch, and how many of them watch it. */
  readonly #byCaller = new Map<string, Map<string, number>>();
  #cancelPoll: (() => void) | undefined;
  #polling = false;
  /** Polls in a row with a retryable failure. */
  #failures = 0;

  constructor(options: TaskWatcherOptions) {
    this.#options = options;
    this.#setTimer = options.setTimer ?? timer;
    this.#now = options.now ?? performance.now.bind(performance);
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
    const perCaller = this.#options.maxWatchedIdsPerCaller;
    if (caller !== undefined && perCaller !== undefined) {
      const mine = this.#byCaller.get(caller.key);
      const added = [...caller.taskIds].filter((taskId) => mine?.has(taskId) !== true).length;
      if ((mine?.size ?? 0) + added > perCaller) {
        this.#options.onShareRefused?.();
        throw toGraphQLError(new RateLimitedError("watched_ids", WATCH_SHARE_RETRY_S));
      }
    }
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
    if (caller !== undefined) {
      let mine = this.#byCaller.get(caller.key);
      if (mine === undefined) this.#byCaller.set(caller.key, (mine = new Map<string, number>()));
      for (const taskId of caller.taskIds) mine.set(taskId, (mine.get(taskId) ?? 0) + 1);
    }
    for (const position of positions) {
      if (!("taskId" in position)) continue;
      let watched = this.#watched.get(position.taskId);
      if (watched === undefined) {
        watched = { subscribers: new Set() };
        this.#watched.set(position.taskId, watched);
      }
      watched.subscribers.add(subscriber);
    }
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
    const mine = subscriber.caller === undefined ? undefined : this.#byCaller.get(subscriber.caller.key);
    if (mine !== undefined && subscriber.caller !== undefined) {
      for (const taskId of subscriber.caller.taskIds) {
        const left = (mine.get(taskId) ?? 1) - 1;
        if (left > 0) mine.set(taskId, left);
        else mine.delete(taskId);
      }
      if (mine.size === 0) this.#byCaller.delete(subscriber.caller.key);
    }
    for (const position of subscriber.positions) {
      if (!("taskId" in position)) continue;
      const watched = this.#watched.get(position.taskId);
      if (watched === undefined) continue;
      watched.subscribers.delete(subscriber);
      if (watched.subscribers.size > 0) continue;
      this.#watched.delete(position.taskId);
      const load = watched.loading;
      if (load !== undefined && --load.wanted === 0) load.controller.abort();
    }
    if (!this.#hasWorkLeft()) {
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
      const snapshot: WatchedTask[] = [];
      let final = true;
      for (const position of subscriber.positions) {
        if ("error" in position) {
          snapshot.push(position.error);
          continue;
        }
        const current = this.#watched.get(position.taskId)?.current;
        if (current === undefined) break;
        snapshot.push(current.value);
        final &&= current.final;
      }
      if (snapshot.length < subscriber.positions.length) continue;
      subscriber.changed = false;
      subscriber.sent += 1;
      subscriber.stream.push(snapshot);
      if (final) {
        subscriber.outcome ??= "completed";
        subscriber.stream.end();
      }
    }
  }

  #hasWorkLeft(): boolean {
    for (const watched of this.#watched.values()) if (watched.current?.final !== true) return true;
    return false;
  }

  #startPolling(): void {
    if (this.#cancelPoll !== undefined || this.#polling || !this.#hasWorkLeft()) return;
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
    this.#options.onPoll?.(due.length);
    const retryAfterMs = this.#retryAfterMs(due);
    this.#failures = retryAfterMs === undefined ? 0 : this.#failures + 1;
    if (!this.#hasWorkLeft() || this.#cancelPoll !== undefined) return;
    const backoff = retryAfterMs === undefined ? 0 : Math.min(MAX_BACKOFF_MS, Math.max(retryAfterMs, this.#options.intervalMs * 2 ** this.#failures));
    const wait = Math.max(this.#options.intervalMs - (this.#now() - startedAt), backoff);
    this.#cancelPoll = this.#setTimer(() => void this.#poll(), wait);
  }

  /** After a poll: undefined when no id failed in a way worth retrying, else AppFabric's `Retry-After` (or 0). */
  #retryAfterMs(taskIds: readonly string[]): number | undefined {
    let retryAfterMs: number | undefined;
    for (const taskId of taskIds) {
      const value = this.#watched.get(taskId)?.current?.value;
      if (!(value instanceof GraphQLError) || value.extensions["retryable"] !== true) continue;
      const seconds = value.extensions["retryAfterSeconds"];
      retryAfterMs = Math.max(retryAfterMs ?? 0, typeof seconds === "number" ? seconds * 1000 : 0);
    }
    return retryAfterMs;
  }
}

function toPosition(taskId: string): Position {
  const normalized = taskId.toLowerCase();
  return isTaskId(normalized) ? { taskId: normalized } : { error: invalidTaskIdError(taskId) };
}

/** Whether a task can still change, and what counts as a change: its status, its task error, or the error in its place. */
function describe(value: WatchedTask): { value: WatchedTask; final: boolean; key: string } {
  if (value instanceof GraphQLError) {
    const code = String(value.extensions["code"]);
    return { value, final: value.extensions["retryable"] !== true, key: `error:${code}` };
  }
  const status = value.resultStatus ?? "";
  const error = value.taskError === undefined ? "" : `${value.taskError.errorCode ?? ""}:${value.taskError.errorMessage ?? ""}`;
  return { value, final: FINAL_STATUSES.has(status), key: `task:${status}:${error}` };
}

function watchLimitError(what: string): GraphQLError {
  return new GraphQLError(`This service watches as much as it may (${what}); nothing was subscribed. Try again later, or query userAccessTasks.`, {
    extensions: { code: ErrorCode.OVERLOADED, retryable: true },
  });
}

function subscriptionExpiredError(maxLifetimeMs: number): GraphQLError {
  return new GraphQLError(`This subscription reached its maximum lifetime of ${Math.round(maxLifetimeMs / 1000)} s. Subscribe again to keep watching.`, {
    extensions: { code: ErrorCode.SUBSCRIPTION_EXPIRED, retryable: true },
  });
}
