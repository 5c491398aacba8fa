import { GraphQLError } from "graphql";
import { isTaskId } from "../appfabric/constants.js";
import { FINAL_STATUSES, type UserAccessResultItem } from "../appfabric/types.js";
import { ErrorCode } from "../errors/ErrorCode.js";
import { RateLimitedError } from "../errors/RateLimitedError.js";
import { invalidTaskIdError } from "../errors/taskErrors.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";
import type { SnapshotStream } from "./SnapshotStream.js";

// What the task watcher keeps per task id, per subscriber and per caller, and the answers it builds.

/** What a subscriber is told about one position of its list: the task, or why it cannot be answered. */
export type WatchedTask = UserAccessResultItem | GraphQLError;

/** What the watcher knows of one task id. */
export interface Watched {
  subscribers: Set<Subscriber>;
  /** The last answer, once there is one. */
  current?: { value: WatchedTask; final: boolean; key: string };
  /** The load under way for it, if any. */
  loading?: Load;
}

/** One `loadUserAccessTasks` of ≤ 50 ids; cancelled when none of its ids is watched any more. */
export interface Load {
  controller: AbortController;
  wanted: number;
}

export type Position = { taskId: string } | { error: GraphQLError };

export interface Subscriber {
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

export function timer(run: () => void, ms: number): () => void {
  const handle = setTimeout(run, ms);
  handle.unref();
  return () => clearTimeout(handle);
}

/** How long a caller over its share of watched ids is told to wait: its other subscriptions end as their tasks do. */
const WATCH_SHARE_RETRY_S = 10;

/** Per caller: each id its subscriptions watch, and how many of them watch it (SUBSCRIPTION_MAX_WATCHED_IDS_PER_CALLER). */
export class CallerShares {
  readonly #byCaller = new Map<string, Map<string, number>>();
  readonly #max: number | undefined;
  readonly #onRefused: (() => void) | undefined;

  constructor(max: number | undefined, onRefused: (() => void) | undefined) {
    this.#max = max;
    this.#onRefused = onRefused;
  }

  /** Throws `RATE_LIMITED` when the caller's subscriptions would watch more than its share of distinct ids with these. */
  admit(caller: { key: string; taskIds: ReadonlySet<string> }): void {
    if (this.#max === undefined) return;
    const mine = this.#byCaller.get(caller.key);
    const added = [...caller.taskIds].filter((taskId) => mine?.has(taskId) !== true).length;
    if ((mine?.size ?? 0) + added <= this.#max) return;
    this.#onRefused?.();
    throw toGraphQLError(new RateLimitedError("watched_ids", WATCH_SHARE_RETRY_S));
  }

  add(caller: { key: string; taskIds: ReadonlySet<string> }): void {
    let mine = this.#byCaller.get(caller.key);
    if (mine === undefined) this.#byCaller.set(caller.key, (mine = new Map<string, number>()));
    for (const taskId of caller.taskIds) mine.set(taskId, (mine.get(taskId) ?? 0) + 1);
  }

  release(caller: { key: string; taskIds: ReadonlySet<string> }): void {
    const mine = this.#byCaller.get(caller.key);
    if (mine === undefined) return;
    for (const taskId of caller.taskIds) {
      const left = (mine.get(taskId) ?? 1) - 1;
      if (left > 0) mine.set(taskId, left);
      else mine.delete(taskId);
    }
    if (mine.size === 0) this.#byCaller.delete(caller.key);
  }
}

export function toPosition(taskId: string): Position {
  const normalized = taskId.toLowerCase();
  return isTaskId(normalized) ? { taskId: normalized } : { error: invalidTaskIdError(taskId) };
}

/** Whether a task can still change, and what counts as a change: its status, its task error, or the error in its place. */
export function describe(value: WatchedTask): { value: WatchedTask; final: boolean; key: string } {
  if (value instanceof GraphQLError) {
    const code = String(value.extensions["code"]);
    return { value, final: value.extensions["retryable"] !== true, key: `error:${code}` };
  }
  const status = value.resultStatus ?? "";
  const error = value.taskError === undefined ? "" : `${value.taskError.errorCode ?? ""}:${value.taskError.errorMessage ?? ""}`;
  return { value, final: FINAL_STATUSES.has(status), key: `task:${status}:${error}` };
}

export function watchLimitError(what: string): GraphQLError {
  return new GraphQLError(`This service watches as much as it may (${what}); nothing was subscribed. Try again later, or query userAccessTasks.`, {
    extensions: { code: ErrorCode.OVERLOADED, retryable: true },
  });
}

export function subscriptionExpiredError(maxLifetimeMs: number): GraphQLError {
  return new GraphQLError(`This subscription reached its maximum lifetime of ${Math.round(maxLifetimeMs / 1000)} s. Subscribe again to keep watching.`, {
    extensions: { code: ErrorCode.SUBSCRIPTION_EXPIRED, retryable: true },
  });
}

/** The subscriber's list as snapshot, once each of its ids has an answer; `final` when none can change. */
export function snapshotOf(subscriber: Subscriber, watched: ReadonlyMap<string, Watched>): { tasks: WatchedTask[]; final: boolean } | undefined {
  const tasks: WatchedTask[] = [];
  let final = true;
  for (const position of subscriber.positions) {
    if ("error" in position) {
      tasks.push(position.error);
      continue;
    }
    const current = watched.get(position.taskId)?.current;
    if (current === undefined) return undefined;
    tasks.push(current.value);
    final &&= current.final;
  }
  return { tasks, final };
}

/** Whether any watched id can still change. */
export function hasWorkLeft(watched: ReadonlyMap<string, Watched>): boolean {
  for (const task of watched.values()) if (task.current?.final !== true) return true;
  return false;
}

/** After a poll: undefined when no id failed in a way worth retrying, else AppFabric's `Retry-After` (or 0). */
export function retryAfterMsOf(taskIds: readonly string[], watched: ReadonlyMap<string, Watched>): number | undefined {
  let retryAfterMs: number | undefined;
  for (const taskId of taskIds) {
    const value = watched.get(taskId)?.current?.value;
    if (!(value instanceof GraphQLError) || value.extensions["retryable"] !== true) continue;
    const seconds = value.extensions["retryAfterSeconds"];
    retryAfterMs = Math.max(retryAfterMs ?? 0, typeof seconds === "number" ? seconds * 1000 : 0);
  }
  return retryAfterMs;
}

/** Adds the subscriber to each of its ids' watchers, watching the ids nobody watched yet. */
export function watchFor(watched: Map<string, Watched>, subscriber: Subscriber): void {
  for (const position of subscriber.positions) {
    if (!("taskId" in position)) continue;
    let task = watched.get(position.taskId);
    if (task === undefined) watched.set(position.taskId, (task = { subscribers: new Set() }));
    task.subscribers.add(subscriber);
  }
}

/** Takes the subscriber off its ids: an id nobody watches is forgotten, and a load none of whose ids is wanted is cancelled. */
export function unwatchFor(watched: Map<string, Watched>, subscriber: Subscriber): void {
  for (const position of subscriber.positions) {
    if (!("taskId" in position)) continue;
    const task = watched.get(position.taskId);
    if (task === undefined) continue;
    task.subscribers.delete(subscriber);
    if (task.subscribers.size > 0) continue;
    watched.delete(position.taskId);
    const load = task.loading;
    if (load !== undefined && --load.wanted === 0) load.controller.abort();
  }
}

/** The longest the poller waits between polls while AppFabric throttles or fails. */
const MAX_BACKOFF_MS = 30_000;

/** The least wait before the next poll after one whose failures ran `failures` in a row: `Retry-After`, else doubling, up to 30 s; 0 after a clean poll. */
export function backoffMs(retryAfterMs: number | undefined, intervalMs: number, failures: number): number {
  return retryAfterMs === undefined ? 0 : Math.min(MAX_BACKOFF_MS, Math.max(retryAfterMs, intervalMs * 2 ** failures));
}
