import { setTimeout as sleep } from "node:timers/promises";
import { LRUCache } from "lru-cache";
import { ensureError } from "../lib/ensureError.js";
import { untilDeadline } from "../appfabric/errors.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import type { LoadOptions, UserAccessTaskSource } from "./UserAccessTaskSource.js";
import { FINAL_STATUSES } from "../appfabric/types.js";
import { CLOCK_SKEW_MS, type CachedResult } from "./cachedItem.js";
import type { SharedResultStore } from "./SharedResultStore.js";

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

export interface CachedSourceOptions {
  settings: ResultCacheSettings;
  /** The fleet's cache in Redis, when `REDIS_URL` is set. */
  shared?: SharedResultStore;
  observer: ResultCacheObserver;
  /** The cache's clock (ms since the epoch); tests move it by hand. */
  now?: () => number;
  /** Waits between looks for a result another replica is fetching (real time by default); rejects when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/**
 * How long, past its freshness, an IN_PROGRESS result stays in Redis, and how long a replica may hold
 * the claim to refresh it. While one replica refreshes a stale result, the others serve that result:
 * an IN_PROGRESS answer is then at most `inProgressMs` plus this old (in practice plus one AppFabric call).
 */
export const REFRESH_CLAIM_MS = 5_000;

/** A replica waiting for another's first fetch of a task looks in Redis after this long, then at doubling intervals up to `MAX_LOOK_MS`. */
const FIRST_LOOK_MS = 25;
const MAX_LOOK_MS = 200;

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
  readonly #now: () => number;
  readonly #local: LRUCache<string, CachedResult>;
  readonly #sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /**
   * Ids whose claim this replica holds, each with the answer its fetch will give: another operation
   * of this replica that finds an id here waits for that answer instead of asking again.
   */
  readonly #claims = new Map<string, { answer: Promise<Answer>; settle: (answer: Answer) => void }>();

  constructor(inner: UserAccessTaskSource, options: CachedSourceOptions) {
    this.#inner = inner;
    this.#settings = options.settings;
    this.#shared = options.shared;
    this.#observer = options.observer;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms, signal) => sleep(ms, undefined, { signal }));
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
    const missing: number[] = [];
    for (const [index, taskId] of taskIds.entries()) {
      const cached = this.#local.get(taskId);
      if (cached !== undefined && cached.freshUntil > now) answers[index] = cached.item;
      else missing.push(index);
    }
    this.#observer.cacheLookedUp("local", taskIds.length - missing.length);
    if (missing.length === 0) return answers;
    if (this.#shared === undefined) {
      await this.#fetch(taskIds, missing, answers, [], now, options);
      return answers;
    }
    const { fetch, claimed, waiting, joining } = await this.#fromShared(this.#shared, taskIds, missing, answers, now);
    await Promise.all([
      this.#fetch(taskIds, fetch, answers, claimed, now, options),
      this.#join(taskIds, joining, answers, options),
      this.#waitForOthers(this.#shared, taskIds, waiting, answers, options),
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
      this.#release(claimed, () => failure);
      throw error;
    }
    const toShare: Array<{ taskId: string; cached: CachedResult; ttlMs: number }> = [];
    for (const [position, index] of indexes.entries()) {
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
    if (this.#shared === undefined) return;
    // Errors and unknown ids are not shared; their claims are released all the same, so that the
    // replicas waiting for them ask AppFabric themselves.
    void this.#shared.store(toShare, claimed);
    const answerOf = new Map(fetchIds.map((taskId, position) => [taskId, results[position]]));
    for (const taskId of claimed) this.#settle(taskId, answerOf.get(taskId));
  }

  /** Gives back claims without storing anything (a re-read found the result, or the fetch failed as a whole). */
  #release(claimed: readonly string[], answer: (taskId: string) => Answer): void {
    if (claimed.length === 0) return;
    void this.#shared?.store([], claimed);
    for (const taskId of claimed) this.#settle(taskId, answer(taskId));
  }

  /** This replica's claim on `taskId`, if it holds one, ends with `answer`: its other operations waiting for it get it. */
  #settle(taskId: string, answer: Answer): void {
    const claim = this.#claims.get(taskId);
    if (claim === undefined) return;
    this.#claims.delete(taskId);
    claim.settle(answer);
  }

  /**
   * Answers `indexes` with the fetches this replica's other operations make under their claims. An
   * error there (another operation's deadline, its caller's share, a failed call) is not this
   * operation's: those ids are asked again, as an error is never shared. Past this operation's own
   * deadline, they answer with it.
   */
  async #join(taskIds: readonly string[], indexes: readonly number[], answers: Answer[], options: LoadOptions): Promise<void> {
    if (indexes.length === 0) return;
    const claims = indexes.map((index) => this.#claims.get(taskIds[index] ?? "")?.answer ?? Promise.resolve<Answer>(new Error("no claim")));
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

  /**
   * The second tier. Fresh results from Redis answer at once (and are kept in memory). A stale or
   * absent result is claimed, all of this look's ids in one transaction: what this replica wins it
   * fetches (`fetch`, with the claims it holds in `claimed`); where another replica holds the claim,
   * a stale result is served meanwhile and an absent one is waited for (`waiting`), so that the fleet
   * asks AppFabric once per task, from the very first miss.
   */
  async #fromShared(
    shared: SharedResultStore,
    taskIds: readonly string[],
    missing: number[],
    answers: Answer[],
    now: number,
  ): Promise<{ fetch: number[]; claimed: string[]; waiting: number[]; joining: number[] }> {
    const found = await shared.get(missing.map((index) => taskIds[index] ?? ""));
    if (found === undefined) return { fetch: missing, claimed: [], waiting: [], joining: [] };
    const fetch: number[] = [];
    const toClaim: number[] = [];
    const staleAt = new Map<number, CachedResult>();
    let rejected = 0;
    let fromRedis = 0;
    // Refreshed without a claim, whatever claim there is: results stale for longer than any refresh
    // takes. Their claims are released with the store (a claim left behind with no TTL is cleared).
    const overdue: string[] = [];
    for (const [position, index] of missing.entries()) {
      const cached = this.#accepted(found[position], now);
      // A value this service did not write (or too fresh to be true) is counted once and replaced by this replica's own fetch.
      if (cached === "forged") {
        rejected += 1;
        fetch.push(index);
      } else if (cached === undefined) toClaim.push(index);
      else if (cached.freshUntil > now) {
        answers[index] = cached.item;
        this.#local.set(taskIds[index] ?? "", cached);
        fromRedis += 1;
      } else if (now - cached.freshUntil > REFRESH_CLAIM_MS) {
        fetch.push(index);
        overdue.push(taskIds[index] ?? "");
      } else {
        staleAt.set(index, cached);
        toClaim.push(index);
      }
    }
    this.#observer.cacheLookedUp("shared", fromRedis);
    shared.rejected(rejected);
    const { won, joined, lost, claimed } = await this.#claim(shared, taskIds, toClaim, answers);
    // Where another replica, or another operation of this one, holds the claim: the stale result
    // meanwhile; without one, the other operation's answer is joined, another replica's waited for.
    const waiting: number[] = [];
    const joining: number[] = [];
    let servedStale = 0;
    for (const index of [...joined, ...lost]) {
      const stale = staleAt.get(index);
      if (stale !== undefined) {
        answers[index] = stale.item;
        servedStale += 1;
      } else (joined.includes(index) ? joining : waiting).push(index);
    }
    this.#observer.cacheLookedUp("stale", servedStale);
    return { fetch: [...fetch, ...won].sort((a, b) => a - b), claimed: [...overdue, ...claimed], waiting, joining };
  }

  /**
   * Claims the refresh of `indexes`' ids. Of those won, Redis is read once more: a claim is free again
   * once the refresh before it has stored its result (`store` writes the results, then releases the
   * claims, in one pipeline), so a refresh that finished between the first read and the claim is
   * served, not made a second time. Returns the indexes to fetch (`won`, with the claims now held in
   * `claimed`; all of them, without claims, when Redis did not answer), those whose claim another
   * operation of this replica holds (`joined`: its call is under way here) and those another replica
   * holds (`lost`).
   */
  async #claim(
    shared: SharedResultStore,
    taskIds: readonly string[],
    indexes: readonly number[],
    answers: Answer[],
  ): Promise<{ won: number[]; joined: number[]; lost: number[]; claimed: string[] }> {
    const won: number[] = [];
    const joined: number[] = [];
    const lost: number[] = [];
    const toClaim: number[] = [];
    for (const index of indexes) (this.#claims.has(taskIds[index] ?? "") ? joined : toClaim).push(index);
    if (toClaim.length === 0) return { won, joined, lost, claimed: [] };
    const claimIds = toClaim.map((index) => taskIds[index] ?? "");
    const replies = await shared.claim(claimIds, REFRESH_CLAIM_MS);
    // Without Redis's answer to the claim, this replica fetches them itself.
    if (replies === undefined) return { won: toClaim, joined, lost, claimed: [] };
    const wonNow: number[] = [];
    for (const [position, index] of toClaim.entries()) {
      // Lost to another operation of this replica (its claim went first in the same round trip): joined.
      if (replies[position] !== true) (this.#claims.has(claimIds[position] ?? "") ? joined : lost).push(index);
      else {
        wonNow.push(index);
        let settle: (answer: Answer) => void = () => undefined;
        const answer = new Promise<Answer>((resolve) => (settle = resolve));
        this.#claims.set(claimIds[position] ?? "", { answer, settle });
      }
    }
    if (wonNow.length === 0) return { won, joined, lost, claimed: [] };
    const wonIds = wonNow.map((index) => taskIds[index] ?? "");
    const again = (await shared.get(wonIds)) ?? [];
    const now = this.#now();
    const claimed: string[] = [];
    const released: string[] = [];
    for (const [position, index] of wonNow.entries()) {
      const taskId = wonIds[position] ?? "";
      const refreshed = this.#accepted(again[position], now);
      if (refreshed !== undefined && refreshed !== "forged" && refreshed.freshUntil > now) {
        answers[index] = refreshed.item;
        this.#local.set(taskId, refreshed);
        released.push(taskId);
      } else {
        won.push(index);
        claimed.push(taskId);
      }
    }
    this.#release(released, (taskId) => this.#local.get(taskId)?.item);
    this.#observer.cacheLookedUp("shared", released.length);
    return { won, joined, lost, claimed };
  }

  /**
   * Waits for the results another replica is fetching under its claim: looks in Redis after 25 ms,
   * then at doubling intervals up to 200 ms, for at most the claim's lifetime. A result that arrives
   * answers (`awaited`); where the other replica gave up its claim without a result (an error, an
   * unknown id) or let it lapse, this replica claims and fetches the id itself. When Redis stops
   * answering, or the operation's deadline comes, the rest is fetched at once (the source below
   * answers a passed deadline without a call).
   */
  async #waitForOthers(shared: SharedResultStore, taskIds: readonly string[], waiting: number[], answers: Answer[], options: LoadOptions): Promise<void> {
    let left = waiting;
    const fetches: Array<Promise<void>> = [];
    for (let step = FIRST_LOOK_MS, waited = 0; left.length > 0 && waited < REFRESH_CLAIM_MS; waited += step, step = Math.min(2 * step, MAX_LOOK_MS)) {
      if (!(await this.#pause(step, options.signal))) break;
      const found = await shared.get(left.map((index) => taskIds[index] ?? ""));
      if (found === undefined) break;
      const now = this.#now();
      const absent: number[] = [];
      const forged: number[] = [];
      for (const [position, index] of left.entries()) {
        const cached = this.#accepted(found[position], now);
        if (cached === "forged") forged.push(index);
        else if (cached === undefined || cached.freshUntil <= now) absent.push(index);
        else {
          answers[index] = cached.item;
          this.#local.set(taskIds[index] ?? "", cached);
        }
      }
      this.#observer.cacheLookedUp("awaited", left.length - absent.length - forged.length);
      // A value this service did not write, where the result was awaited: counted, and fetched here.
      shared.rejected(forged.length);
      fetches.push(this.#fetch(taskIds, forged, answers, [], now, options));
      if (absent.length === 0) {
        left = [];
        break;
      }
      const { won, joined, lost, claimed } = await this.#claim(shared, taskIds, absent, answers);
      fetches.push(this.#fetch(taskIds, won, answers, claimed, now, options), this.#join(taskIds, joined, answers, options));
      left = lost;
    }
    fetches.push(this.#fetch(taskIds, left, answers, [], this.#now(), options));
    await Promise.all(fetches);
  }

  /** Waits `ms`; false when the operation's deadline came first. */
  async #pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted === true) return false;
    try {
      await this.#sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * A result read from Redis as this replica may use it. It is never fresher than its status allows
   * from now: a freshness time beyond that by more than clocks differ was not written by this service
   * (`forged`, no answer); within it (another replica's clock ahead), it is cut back.
   */
  #accepted(stored: CachedResult | "rejected" | undefined, now: number): CachedResult | "forged" | undefined {
    if (stored === undefined || stored === "rejected") return stored === undefined ? undefined : "forged";
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
