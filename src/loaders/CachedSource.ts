import type { Clock } from "../lib/Clock.js";
import { setTimeout as sleep } from "node:timers/promises";
import { LRUCache } from "lru-cache";
import { ensureError } from "../lib/ensureError.js";
import { untilDeadline } from "../appfabric/errors.js";
import type { LoadOptions, UserAccessTaskSource } from "./UserAccessTaskSource.js";
import { FINAL_STATUSES } from "../appfabric/types.js";
import type { CachedResult } from "./cachedItem.js";
import type { SharedResultStore } from "./SharedResultStore.js";
import { ReplicaClaims, type Answer } from "./ReplicaClaims.js";
import { REFRESH_CLAIM_MS, ttlOf, type ResultCacheObserver, type ResultCacheSettings } from "./ResultCacheSettings.js";
import { SharedLookup } from "./SharedLookup.js";

export { REFRESH_CLAIM_MS, type ResultCacheObserver, type ResultCacheSettings } from "./ResultCacheSettings.js";

export interface CachedSourceOptions {
  settings: ResultCacheSettings;
  /** The fleet's cache in Redis, when `REDIS_URL` is set. */
  shared?: SharedResultStore;
  observer: ResultCacheObserver;
  /** The cache's clock (ms since the epoch); tests move it by hand. */
  now?: Clock;
  /** Waits between looks for a result another replica is fetching (real time by default); rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

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
 * `SharedResults`). A result found in Redis is kept in memory until the same moment. A task Redis has
 * no fresh result for is claimed: one replica asks AppFabric; while it does, the others serve the
 * stale result when there is one, and otherwise wait for its answer in Redis (up to the claim's 5 s).
 * So the fleet makes one call per task per interval, not one per replica, from the first miss on.
 */
export class CachedSource implements UserAccessTaskSource {
  readonly #inner: UserAccessTaskSource;
  readonly #settings: ResultCacheSettings;
  readonly #shared: SharedResultStore | undefined;
  readonly #observer: ResultCacheObserver;
  readonly #now: Clock;
  readonly #local: LRUCache<string, CachedResult>;
  readonly #claims: ReplicaClaims;
  /** The second tier, with Redis. */
  readonly #sharedLookup: SharedLookup | undefined;

  constructor(inner: UserAccessTaskSource, options: CachedSourceOptions) {
    this.#inner = inner;
    this.#settings = options.settings;
    this.#shared = options.shared;
    this.#observer = options.observer;
    this.#now = options.now ?? Date.now;
    // Bounded by count and by size: AppFabric's items are a few hundred bytes; the size bound keeps a
    // few outsized ones from holding much memory.
    this.#local = new LRUCache({ max: options.settings.maxEntries, maxSize: options.settings.maxEntries * AVERAGE_ITEM_BYTES, sizeCalculation: sizeOf });
    this.#claims = new ReplicaClaims(options.shared);
    this.#sharedLookup =
      options.shared === undefined
        ? undefined
        : new SharedLookup({
            shared: options.shared,
            local: this.#local,
            claims: this.#claims,
            settings: options.settings,
            observer: options.observer,
            now: this.#now,
            sleep: options.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal })),
            tiers: { fetch: (...args) => this.#fetch(...args), join: (...args) => this.#join(...args) },
          });
  }

  /** Results held in this replica's memory (for tests). */
  get size(): number {
    return this.#local.size;
  }

  async loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}): Promise<Answer[]> {
    const now = this.#now();
    const answers = new Array<Answer>(taskIds.length);
    const missing: number[] = [];
    for (const [index, taskId] of taskIds.entries()) {
      const cached = this.#local.get(taskId);
      if (cached !== undefined && cached.freshUntil > now) answers[index] = cached.item;
      else missing.push(index);
    }
    this.#observer.cacheLookedUp("local", taskIds.length - missing.length);
    if (missing.length === 0) return answers;
    const shared = this.#sharedLookup;
    if (shared === undefined) {
      await this.#fetch(taskIds, missing, answers, [], now, options);
      return answers;
    }
    const { fetch, claimed, waiting, joining } = await shared.look(taskIds, missing, answers, now);
    await Promise.all([
      this.#fetch(taskIds, fetch, answers, claimed, now, options),
      this.#join(taskIds, joining, answers, options),
      shared.waitForOthers(taskIds, waiting, answers, options),
    ]);
    return answers;
  }

  /**
   * Asks the source below for `indexes`' ids, keeps what may be kept, and (with Redis) stores it and
   * releases `claimed` in one round trip, not awaited. `now` is when the answer was asked for.
   */
  async #fetch(
    taskIds: readonly string[],
    indexes: readonly number[],
    answers: Answer[],
    claimed: readonly string[],
    now: number,
    options: LoadOptions,
  ): Promise<void> {
    if (indexes.length === 0) return;
    this.#observer.cacheLookedUp("miss", indexes.length);
    const fetchIds = indexes.map((index) => taskIds[index] ?? "");
    let results: Answer[];
    try {
      results = await this.#inner.loadUserAccessTasks(fetchIds, options);
    } catch (error) {
      const failure = ensureError(error);
      this.#claims.release(claimed, () => failure);
      throw error;
    }
    const toShare: Array<{ taskId: string; cached: CachedResult; ttlMs: number }> = [];
    for (const [position, index] of indexes.entries()) {
      const result = results[position];
      answers[index] = result;
      if (result === undefined || result instanceof Error) continue;
      const ttlMs = ttlOf(result, this.#settings);
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
    if (this.#shared === undefined) return;
    // Errors and unknown ids are not shared; their claims are released all the same, so that the
    // replicas waiting for them ask AppFabric themselves.
    void this.#shared.store(toShare, claimed);
    const answerOf = new Map(fetchIds.map((taskId, position) => [taskId, results[position]]));
    for (const taskId of claimed) this.#claims.settle(taskId, answerOf.get(taskId));
  }

  /**
   * Answers `indexes` with the fetches this replica's other operations make under their claims. An
   * error there (another operation's deadline, its caller's share, a failed call) is not this
   * operation's: those ids are asked again, as an error is never shared. Past this operation's own
   * deadline, they answer with it.
   */
  async #join(taskIds: readonly string[], indexes: readonly number[], answers: Answer[], options: LoadOptions): Promise<void> {
    if (indexes.length === 0) return;
    const claims = indexes.map((index) => this.#claims.answerOf(taskIds[index] ?? "") ?? Promise.resolve<Answer>(new Error("no claim")));
    let joined: Answer[];
    try {
      joined = await untilDeadline(Promise.all(claims), options.signal);
    } catch (error) {
      for (const index of indexes) answers[index] = ensureError(error);
      return;
    }
    const again: number[] = [];
    for (const [position, index] of indexes.entries()) {
      const answer = joined[position];
      if (answer instanceof Error) again.push(index);
      else answers[index] = answer;
    }
    await this.#fetch(taskIds, again, answers, [], this.#now(), options);
  }
}
