import { FINAL_STATUSES, type UserAccessResultItem } from "../appfabric/types.js";
import { CLOCK_SKEW_MS, type CachedResult } from "./cachedItem.js";

export interface ResultCacheSettings {
  /** How long a task in a final status (COMPLETED, FAILED, EXPIRED) is served from the cache; 0: not cached. */
  finalTtlMs: number;
  /** How long an IN_PROGRESS task is served from the cache; 0: not cached. */
  inProgressMs: number;
  /** Results this replica keeps in memory at most (least recently used go first). */
  maxEntries: number;
}

/** What the cache reports (metrics implement it): how many ids each lookup served, and from where. */
export interface ResultCacheObserver {
  cacheLookedUp(outcome: "local" | "shared" | "stale" | "awaited" | "miss", ids: number): void;
}

/**
 * How long, past its freshness, an IN_PROGRESS result stays in Redis, and how long a replica may hold
 * the claim to refresh it. While one replica refreshes a stale result, the others serve that result:
 * an IN_PROGRESS answer is then at most `inProgressMs` plus this old (in practice plus one AppFabric call).
 */
export const REFRESH_CLAIM_MS = 5_000;

/** How long a result may be served: by its status; 0 for anything without a known status. */
export function ttlOf(item: UserAccessResultItem, settings: ResultCacheSettings): number {
  const status = item.resultStatus;
  if (status === "IN_PROGRESS") return settings.inProgressMs;
  return status !== undefined && FINAL_STATUSES.has(status) ? settings.finalTtlMs : 0;
}

/**
 * A result read from Redis as this replica may use it. It is never fresher than its status allows
 * from now: a freshness time beyond that by more than clocks differ was not written by this service
 * (`forged`, no answer); within it (another replica's clock ahead), it is cut back.
 */
export function acceptedResult(stored: CachedResult | "rejected" | undefined, now: number, settings: ResultCacheSettings): CachedResult | "forged" | undefined {
  if (stored === undefined || stored === "rejected") return stored === undefined ? undefined : "forged";
  const limit = now + ttlOf(stored.item, settings);
  if (stored.freshUntil > limit + CLOCK_SKEW_MS) return "forged";
  return { item: stored.item, freshUntil: Math.min(stored.freshUntil, limit) };
}
