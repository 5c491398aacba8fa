import type { Clock } from "../lib/Clock.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { SnapshotStream } from "./SnapshotStream.js";
import type { WatchedTask } from "./watchState.js";

export interface TaskWatcherOptions {
  /** Where polls go: the same batcher as queries, so their calls are shared. */
  source: UserAccessTaskSource;
  /** Time between the starts of two polls (SUBSCRIPTION_WATCH_INTERVAL_MS). */
  intervalMs: number;
  /** Distinct task ids watched at once in this process; a subscription that would pass it is refused. */
  maxWatchedIds: number;
  /** Distinct task ids one caller's subscriptions may watch at once; a subscription that would pass it is `RATE_LIMITED`. */
  maxWatchedIdsPerCaller?: number;
  /** Subscriptions at once in this process; more are refused. */
  maxSubscriptions: number;
  /** The longest one subscription lasts; it then ends with `SUBSCRIPTION_EXPIRED`. */
  maxLifetimeMs: number;
  /** Runs `run` after `ms` and returns a way to cancel it; tests pass their own clock. */
  setTimer?: (run: () => void, ms: number) => () => void;
  /** Milliseconds from some fixed point, for the interval between polls; tests pass their own. */
  now?: Clock;
  /** What the watcher reports (metrics implement it). */
  observer?: WatcherObserver;
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

/** What the watcher reports: each poll's size, and each subscription refused for its caller's share of watched ids. */
export interface WatcherObserver {
  watcherPolled(ids: number): void;
  watchShareRefused(): void;
}
