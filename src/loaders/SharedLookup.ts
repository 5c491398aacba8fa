import type { Clock } from "../lib/Clock.js";
import type { LRUCache } from "lru-cache";
import type { CachedResult } from "./cachedItem.js";
import type { Answer, ReplicaClaims } from "./ReplicaClaims.js";
import { acceptedResult, REFRESH_CLAIM_MS, type ResultCacheObserver, type ResultCacheSettings } from "./ResultCacheSettings.js";
import type { SharedResultStore } from "./SharedResultStore.js";
import type { LoadOptions } from "./UserAccessTaskSource.js";

/** A replica waiting for another's first fetch of a task looks in Redis after this long, then at doubling intervals up to `MAX_LOOK_MS`. */
const FIRST_LOOK_MS = 25;
const MAX_LOOK_MS = 200;

export interface SharedLookupParts {
  shared: SharedResultStore;
  /** This replica's memory: results found in Redis are kept there until the same moment. */
  local: LRUCache<string, CachedResult>;
  claims: ReplicaClaims;
  settings: ResultCacheSettings;
  observer: ResultCacheObserver;
  now: Clock;
  sleep: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** The cache's own steps: fetch ids from the source below (storing and releasing `claimed`), and join this replica's fetches. */
  tiers: {
    fetch(
      taskIds: readonly string[],
      indexes: readonly number[],
      answers: Answer[],
      claimed: readonly string[],
      now: number,
      options: LoadOptions,
    ): Promise<void>;
    join(taskIds: readonly string[], indexes: readonly number[], answers: Answer[], options: LoadOptions): Promise<void>;
  };
}

/**
 * The result cache's second tier, the fleet's results in Redis, and the claims that make the fleet ask
 * AppFabric once per task: look (`look`), claim what nobody refreshes (`claim`), and wait for what
 * another replica fetches (`waitForOthers`).
 */
export class SharedLookup {
  readonly #parts: SharedLookupParts;

  constructor(parts: SharedLookupParts) {
    this.#parts = parts;
  }

  /**
   * The second tier. Fresh results from Redis answer at once (and are kept in memory). A stale or
   * absent result is claimed, all of this look's ids in one transaction: what this replica wins it
   * fetches (`fetch`, with the claims it holds in `claimed`); where another replica holds the claim,
   * a stale result is served meanwhile and an absent one is waited for (`waiting`), so that the fleet
   * asks AppFabric once per task, from the very first miss.
   */
  async look(
    taskIds: readonly string[],
    missing: number[],
    answers: Answer[],
    now: number,
  ): Promise<{ fetch: number[]; claimed: string[]; waiting: number[]; joining: number[] }> {
    const found = await this.#parts.shared.get(missing.map((index) => taskIds[index] ?? ""));
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
      const cached = acceptedResult(found[position], now, this.#parts.settings);
      // A value this service did not write (or too fresh to be true) is counted once and replaced by this replica's own fetch.
      if (cached === "forged") {
        rejected += 1;
        fetch.push(index);
      } else if (cached === undefined) toClaim.push(index);
      else if (cached.freshUntil > now) {
        answers[index] = cached.item;
        this.#parts.local.set(taskIds[index] ?? "", cached);
        fromRedis += 1;
      } else if (now - cached.freshUntil > REFRESH_CLAIM_MS) {
        fetch.push(index);
        overdue.push(taskIds[index] ?? "");
      } else {
        staleAt.set(index, cached);
        toClaim.push(index);
      }
    }
    this.#parts.observer.cacheLookedUp("shared", fromRedis);
    this.#parts.shared.rejected(rejected);
    const { won, joined, lost, claimed } = await this.claim(taskIds, toClaim, answers);
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
    this.#parts.observer.cacheLookedUp("stale", servedStale);
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
  async claim(
    taskIds: readonly string[],
    indexes: readonly number[],
    answers: Answer[],
  ): Promise<{ won: number[]; joined: number[]; lost: number[]; claimed: string[] }> {
    const won: number[] = [];
    const joined: number[] = [];
    const lost: number[] = [];
    const toClaim: number[] = [];
    for (const index of indexes) (this.#parts.claims.has(taskIds[index] ?? "") ? joined : toClaim).push(index);
    if (toClaim.length === 0) return { won, joined, lost, claimed: [] };
    const claimIds = toClaim.map((index) => taskIds[index] ?? "");
    const replies = await this.#parts.shared.claim(claimIds, REFRESH_CLAIM_MS);
    // Without Redis's answer to the claim, this replica fetches them itself.
    if (replies === undefined) return { won: toClaim, joined, lost, claimed: [] };
    const wonNow: number[] = [];
    for (const [position, index] of toClaim.entries()) {
      // Lost to another operation of this replica (its claim went first in the same round trip): joined.
      if (replies[position] !== true) (this.#parts.claims.has(claimIds[position] ?? "") ? joined : lost).push(index);
      else {
        wonNow.push(index);
        this.#parts.claims.hold(claimIds[position] ?? "");
      }
    }
    if (wonNow.length === 0) return { won, joined, lost, claimed: [] };
    const wonIds = wonNow.map((index) => taskIds[index] ?? "");
    const again = (await this.#parts.shared.get(wonIds)) ?? [];
    const now = this.#parts.now();
    const claimed: string[] = [];
    const released: string[] = [];
    for (const [position, index] of wonNow.entries()) {
      const taskId = wonIds[position] ?? "";
      const refreshed = acceptedResult(again[position], now, this.#parts.settings);
      if (refreshed !== undefined && refreshed !== "forged" && refreshed.freshUntil > now) {
        answers[index] = refreshed.item;
        this.#parts.local.set(taskId, refreshed);
        released.push(taskId);
      } else {
        won.push(index);
        claimed.push(taskId);
      }
    }
    this.#parts.claims.release(released, (taskId) => this.#parts.local.get(taskId)?.item);
    this.#parts.observer.cacheLookedUp("shared", released.length);
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
  async waitForOthers(taskIds: readonly string[], waiting: number[], answers: Answer[], options: LoadOptions): Promise<void> {
    let left = waiting;
    const fetches: Array<Promise<void>> = [];
    for (let step = FIRST_LOOK_MS, waited = 0; left.length > 0 && waited < REFRESH_CLAIM_MS; waited += step, step = Math.min(2 * step, MAX_LOOK_MS)) {
      if (!(await this.#pause(step, options.signal))) break;
      const found = await this.#parts.shared.get(left.map((index) => taskIds[index] ?? ""));
      if (found === undefined) break;
      const now = this.#parts.now();
      const absent: number[] = [];
      const forged: number[] = [];
      for (const [position, index] of left.entries()) {
        const cached = acceptedResult(found[position], now, this.#parts.settings);
        if (cached === "forged") forged.push(index);
        else if (cached === undefined || cached.freshUntil <= now) absent.push(index);
        else {
          answers[index] = cached.item;
          this.#parts.local.set(taskIds[index] ?? "", cached);
        }
      }
      this.#parts.observer.cacheLookedUp("awaited", left.length - absent.length - forged.length);
      // A value this service did not write, where the result was awaited: counted, and fetched here.
      this.#parts.shared.rejected(forged.length);
      fetches.push(this.#parts.tiers.fetch(taskIds, forged, answers, [], now, options));
      if (absent.length === 0) {
        left = [];
        break;
      }
      const { won, joined, lost, claimed } = await this.claim(taskIds, absent, answers);
      fetches.push(this.#parts.tiers.fetch(taskIds, won, answers, claimed, now, options), this.#parts.tiers.join(taskIds, joined, answers, options));
      left = lost;
    }
    fetches.push(this.#parts.tiers.fetch(taskIds, left, answers, [], this.#parts.now(), options));
    await Promise.all(fetches);
  }

  /** Waits `ms`; false when the operation's deadline came first. */
  async #pause(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (signal?.aborted === true) return false;
    try {
      await this.#parts.sleep(ms, signal);
      return true;
    } catch {
      return false;
    }
  }
}
