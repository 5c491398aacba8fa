import { LRUCache } from "lru-cache";
import { FleetRate } from "../fleet/FleetRate.js";
import type { RedisLink } from "../fleet/RedisLink.js";
import { RateLimitedError, type BudgetReason } from "../errors/RateLimitedError.js";

/** Each caller's share of AppFabric (CALLER_MAX_*): AppFabric throttles per account, so this service shares it out. */
export interface CallerBudgetSettings {
  /** Task ids a caller may have sent to AppFabric per second (cache hits cost nothing). */
  taskIdsPerSecond: number;
  /** Starts a caller may make per minute. */
  startsPerMinute: number;
  /** Bytes of documents a caller may have persisted (APQ registrations) per minute. */
  persistedBytesPerMinute: number;
}

/** What the budgets report (metrics implement it): each refusal, by the budget that ran out. */
export interface BudgetObserver {
  callerLimited(reason: BudgetReason): void;
}

export interface CallerBudgetsOptions {
  settings: CallerBudgetSettings;
  /** With Redis: each budget is the caller's across the fleet (under `<scope>caller:`). */
  redis?: { link: RedisLink; scope: string };
  observer: BudgetObserver;
}

/** Callers remembered as over budget at once; past it the least recent are forgotten (they are only asked again). */
const MAX_REMEMBERED_CALLERS = 10_000;

/**
 * Each caller's budgets of AppFabric work, kept by caller key (a hash of the identity, see `Caller`):
 * fleet-wide with Redis, each replica's own while Redis is down. `take*` resolves when the work may go
 * ahead and rejects with `RateLimitedError` (counted by reason) when the budget is used up.
 */
export class CallerBudgets {
  readonly #taskIds: FleetRate;
  readonly #starts: FleetRate;
  readonly #persistedBytes: FleetRate;
  readonly #observer: BudgetObserver;
  /** Callers whose task-id budget ran out, until their window ends (this replica's knowledge; on the windows' clock, Date.now). */
  readonly #outOfTaskIds = new LRUCache<string, true>({ max: MAX_REMEMBERED_CALLERS, perf: { now: () => Date.now() } });

  constructor(options: CallerBudgetsOptions) {
    const { settings, redis } = options;
    const shared = (name: string) =>
      redis === undefined ? {} : { redis: { link: redis.link, keyPrefix: `${redis.scope}caller:${name}`, use: "budgets" as const } };
    this.#taskIds = new FleetRate({ points: settings.taskIdsPerSecond, durationMs: 1_000, ...shared("ids") });
    this.#starts = new FleetRate({ points: settings.startsPerMinute, durationMs: 60_000, ...shared("starts") });
    this.#persistedBytes = new FleetRate({ points: settings.persistedBytesPerMinute, durationMs: 60_000, ...shared("apq") });
    this.#observer = options.observer;
  }

  /** Takes `count` task ids (at most one AppFabric call's 50) from the caller's budget. */
  takeTaskIds(callerKey: string, count: number): Promise<void> {
    return this.#take(this.#taskIds, "task_ids", callerKey, count);
  }

  /**
   * How long (ms) the caller's task-id budget is still known to be used up; 0 when it is not. Read
   * before an operation runs, so that a caller over budget is refused whole, at once (one error, HTTP
   * 429), instead of paying for an answer of hundreds of refused ids.
   */
  taskIdsBlockedForMs(callerKey: string): number {
    return this.#outOfTaskIds.getRemainingTTL(callerKey);
  }

  /** Takes one start from the caller's budget. */
  takeStart(callerKey: string): Promise<void> {
    return this.#take(this.#starts, "starts", callerKey, 1);
  }

  /**
   * Whether the caller may persist a document of `bytes` (an APQ registration): false, counted, when
   * its budget is used up. Not an error: the operation still runs, its document is only not kept.
   */
  async mayPersist(callerKey: string, bytes: number): Promise<boolean> {
    if ((await this.#persistedBytes.take(callerKey, bytes)) === 0) return true;
    this.#observer.callerLimited("persisted_bytes");
    return false;
  }

  /** A refusal decided elsewhere (the queue's share, the watcher's, an operation refused whole), counted with these. */
  refused(reason: BudgetReason): void {
    this.#observer.callerLimited(reason);
  }

  async #take(rate: FleetRate, reason: BudgetReason, callerKey: string, count: number): Promise<void> {
    const waitMs = await rate.take(callerKey, count);
    if (waitMs === 0) return;
    this.#observer.callerLimited(reason);
    if (reason === "task_ids") this.#outOfTaskIds.set(callerKey, true, { ttl: waitMs });
    throw new RateLimitedError(reason, Math.ceil(waitMs / 1_000));
  }
}
