import { LRUCache } from "lru-cache";
import type { UserAccessResultItem } from "../appfabric/types.js";
import type { LoadOptions, UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { Metrics } from "../observability/Metrics.js";
import { CLOCK_SKEW_MS, FINAL_STATUSES, type CachedResult } from "./cachedItem.js";
import type { SharedResultStore } from "./SharedResults.js";

export interface ResultCacheSettings {
  /** How long a task in a final status (COMPLETED, FAILED, EXPIRED) is served from the cache; 0: not cached. */
  finalTtlMs: number;
  /** How long an IN_PROGRESS task is served from the cache; 0: not cached. */
  inProgressMs: number;
  /** Results this replica keeps in memory at most (least recently used go first). */
  maxEntries: number;
}

export interface CachedSourceOptions {
  settings: ResultCacheSettings;
  /** The fleet's cache in Redis, when `REDIS_URL` is set. */
  shared?: SharedResultStore;
  metrics: Metrics;
  /** The cache's clock (ms since the epoch); tests move it by hand. */
  now?: () => number;
}

/**
 * How long, past its freshness, an IN_PROGRESS result stays in Redis, and how long a replica may hold
 * the claim to refresh it. While one replica refreshes a stale result, the others serve that result:
 * an IN_PROGRESS answer is then at most `inProgressMs` plus this old (in practice plus one AppFabric call).
 */
export const REFRESH_CLAIM_MS = 5_000;

type Answer = UserAccessResultItem | undefined | Error;

/** The memory bound is RESULT_CACHE_MAX_ENTRIES results of this size on average (about 20 MB for 10,000). */
const AVERAGE_ITEM_BYTES = 2_048;

/** About the bytes a result holds: its text, two bytes a character, plus the object's overhead. */
function sizeOf(cached: CachedResult): number {
  const { taskError, ...texts } = cached.item;
  let chars = (taskError?.errorCode?.length ?? 0) + (taskError?.errorMessage?.length ?? 0);
  for (const value of Object.values(texts)) chars += value?.length ?? 0;
  return 200 + 2 * chars;
}

/**
 * The status-aware result cache, under the batcher: a hit costs no AppFabric call, and the misses go
 * on to the source below (the cross-operation batcher), where they still coalesce.
 *
 * A final result cannot change, so it is kept for `finalTtlMs`; an IN_PROGRESS one for `inProgressMs`,
 * so that every poller and subscriber of a task shares one AppFabric answer per interval. Errors and
 * ids AppFabric does not know are never kept: the next ask goes to AppFabric.
 *
 * Two tiers: this replica's memory (an LRU of `maxEntries`) and, with Redis, the fleet's (see
 * `SharedResults`). A result found in Redis is kept in memory until the same moment. When an
 * IN_PROGRESS result in Redis has gone stale, one replica claims its refresh and asks AppFabric; the
 * others serve the stale result meanwhile, so the fleet makes one call per task per interval, not one
 * per replica.
 */
export class CachedSource implements UserAccessTaskSource {
  readonly #inner: UserAccessTaskSource;
  readonly #settings: ResultCacheSettings;
  readonly #shared: SharedResultStore | undefined;
  readonly #metrics: Metrics;
  readonly #now: () => number;
  readonly #local: LRUCache<string, CachedResult>;

  constructor(inner: UserAccessTaskSource, options: CachedSourceOptions) {
    this.#inner = inner;
    this.#settings = options.settings;
    this.#shared = options.shared;
    this.#metrics = options.metrics;
    this.#now = options.now ?? Date.now;
    // Bounded by count and by size: AppFabric's items are a few hundred bytes; the size bound keeps a
    // few outsized ones from holding much memory.
    this.#local = new LRUCache({ max: options.settings.maxEntries, maxSize: options.settings.maxEntries * AVERAGE_ITEM_BYTES, sizeCalculation: sizeOf });
  }

  /** Results held in this replica's memory (for tests and metrics). */
  get size(): number {
    return this.#local.size;
  }

  async loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}): Promise<Answer[]> {
    const now = this.#now();
    const answers = new Array<Answer>(taskIds.length);
    let missing: number[] = [];
    for (const [index, taskId] of taskIds.entries()) {
      const cached = this.#local.get(taskId);
      if (cached !== undefined && cached.freshUntil > now) answers[index] = cached.item;
      else missing.push(index);
    }
    this.#metrics.cacheLookedUp("local", taskIds.length - missing.length);
    let claimed: string[] = [];
    if (missing.length > 0 && this.#shared !== undefined) ({ missing, claimed } = await this.#fromShared(taskIds, missing, answers, now));
    if (missing.length === 0) return answers;

    this.#metrics.cacheLookedUp("miss", missing.length);
    const fetchIds = missing.map((index) => taskIds[index] ?? "");
    const results = await this.#inner.loadUserAccessTasks(fetchIds, options);
    const toShare: Array<{ taskId: string; cached: CachedResult; ttlMs: number }> = [];
    for (const [position, index] of missing.entries()) {
      const result = results[position];
      answers[index] = result;
      if (result === undefined || result instanceof Error) continue;
      const ttlMs = this.#ttlOf(result);
      if (ttlMs <= 0) continue;
      const taskId = fetchIds[position] ?? "";
      // Operations that joined a call under way get the same answer as the one that asked first:
      // it stays fresh from that first ask, not from the last joiner's.
      if (this.#local.get(taskId)?.item === result) continue;
      // Freshness counts from when the answer was asked for (`now`), not from when it came: a watcher
      // polling every RESULT_CACHE_IN_PROGRESS_MS then finds the previous answer stale, never one poll late.
      const cached = { item: result, freshUntil: now + ttlMs };
      this.#local.set(taskId, cached);
      // In Redis an IN_PROGRESS result outlives its freshness by the claim time: it is what the
      // other replicas serve while one refreshes it.
      toShare.push({ taskId, cached, ttlMs: FINAL_STATUSES.has(result.resultStatus ?? "IN_PROGRESS") ? ttlMs : ttlMs + REFRESH_CLAIM_MS });
    }
    if (this.#shared !== undefined) void this.#shared.store(toShare, claimed);
    return answers;
  }

  /**
   * The second tier: fresh results from Redis answer at once (and are kept in memory); stale ones are
   * served while another replica holds the claim to refresh them. Returns what is still missing and
   * the claims this replica now holds.
   */
  async #fromShared(taskIds: readonly string[], missing: number[], answers: Answer[], now: number): Promise<{ missing: number[]; claimed: string[] }> {
    const shared = this.#shared;
    if (shared === undefined) return { missing, claimed: [] };
    const found = await shared.get(missing.map((index) => taskIds[index] ?? ""));
    if (found === undefined) return { missing, claimed: [] };
    const stillMissing: number[] = [];
    const stale: Array<{ index: number; cached: CachedResult }> = [];
    let rejected = 0;
    // Refreshed without a claim, whatever claim there is: results stale for longer than any refresh
    // takes. Their claims are released with the store (a claim left behind with no TTL is cleared).
    const overdue: string[] = [];
    for (const [position, index] of missing.entries()) {
      const cached = this.#accepted(found[position], now);
      if (cached === "forged") rejected += 1;
      if (cached === undefined || cached === "forged") stillMissing.push(index);
      else if (cached.freshUntil > now) {
        answers[index] = cached.item;
        this.#local.set(taskIds[index] ?? "", cached);
      } else if (now - cached.freshUntil > REFRESH_CLAIM_MS) {
        stillMissing.push(index);
        overdue.push(taskIds[index] ?? "");
      } else stale.push({ index, cached });
    }
    this.#metrics.cacheLookedUp("shared", missing.length - stillMissing.length - stale.length);
    shared.rejected(rejected);
    if (stale.length === 0) return { missing: stillMissing, claimed: overdue };
    const staleIds = stale.map(({ index }) => taskIds[index] ?? "");
    const won = await shared.claim(staleIds, REFRESH_CLAIM_MS);
    // Without Redis's answer to the claim, this replica refreshes them itself.
    if (won === undefined) return { missing: [...stillMissing, ...stale.map(({ index }) => index)].sort((a, b) => a - b), claimed: overdue };
    // A claim is free again once the refresh before it has stored its result (`store` writes the
    // results, then releases the claims, in one pipeline). So what was won is read once more: a
    // refresh that finished between the first read and the claim is not made a second time.
    const wonIds = staleIds.filter((_, position) => won[position] === true);
    const again = wonIds.length === 0 ? [] : ((await shared.get(wonIds)) ?? []);
    const claimed: string[] = [...overdue];
    const released: string[] = [];
    let servedStale = 0;
    let wonPosition = 0;
    for (const [position, { index, cached }] of stale.entries()) {
      const taskId = staleIds[position] ?? "";
      if (won[position] !== true) {
        answers[index] = cached.item;
        servedStale += 1;
        continue;
      }
      const refreshed = this.#accepted(again[wonPosition++], this.#now());
      if (refreshed !== undefined && refreshed !== "forged" && refreshed.freshUntil > now) {
        answers[index] = refreshed.item;
        this.#local.set(taskId, refreshed);
        released.push(taskId);
      } else {
        stillMissing.push(index);
        claimed.push(taskId);
      }
    }
    if (released.length > 0) void shared.store([], released);
    this.#metrics.cacheLookedUp("stale", servedStale);
    this.#metrics.cacheLookedUp("shared", released.length);
    return { missing: stillMissing.sort((a, b) => a - b), claimed };
  }

  /**
   * A result read from Redis as this replica may use it. It is never fresher than its status allows
   * from now: a freshness time beyond that by more than clocks differ was not written by this service
   * (`forged`, no answer); within it (another replica's clock ahead), it is cut back.
   */
  #accepted(stored: CachedResult | undefined, now: number): CachedResult | "forged" | undefined {
    if (stored === undefined) return undefined;
    const limit = now + this.#ttlOf(stored.item);
    if (stored.freshUntil > limit + CLOCK_SKEW_MS) return "forged";
    return { item: stored.item, freshUntil: Math.min(stored.freshUntil, limit) };
  }

  /** How long a result may be served: by its status; 0 for anything without a known status. */
  #ttlOf(item: UserAccessResultItem): number {
    const status = item.resultStatus;
    if (status === "IN_PROGRESS") return this.#settings.inProgressMs;
    return status !== undefined && FINAL_STATUSES.has(status) ? this.#settings.finalTtlMs : 0;
  }
}
