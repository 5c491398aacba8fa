import { describe, expect, it } from "vitest";
import { AppFabricServiceError, HeldByFleetError } from "../../src/appfabric/errors.js";
import type { ResultStatus, UserAccessResultItem } from "../../src/appfabric/types.js";
import { decodeCachedResult, encodeCachedResult, type CachedResult } from "../../src/loaders/cachedItem.js";
import type { SharedResultStore } from "../../src/loaders/SharedResultStore.js";
import { CachedSource, type ResultCacheSettings } from "../../src/loaders/CachedSource.js";
import { FleetCallGate } from "../../src/fleet/FleetCallGate.js";
import type { LoadOptions, UserAccessTaskSource } from "../../src/loaders/UserAccessTaskSource.js";
import { Metrics } from "../../src/observability/Metrics.js";
import { syntheticTaskId as id } from "../fixtures/syntheticTasks.js";

/** A source whose tasks the test sets; every id it is asked for is recorded. */
class ScriptedSource implements UserAccessTaskSource {
  readonly tasks = new Map<string, ResultStatus | Error>();
  readonly asked: string[][] = [];

  async loadUserAccessTasks(taskIds: readonly string[], _options?: LoadOptions): Promise<Array<UserAccessResultItem | undefined | Error>> {
    this.asked.push([...taskIds]);
    return taskIds.map((taskId) => {
      const task = this.tasks.get(taskId);
      return task === undefined || task instanceof Error ? task : { taskId, resultStatus: task, app: "App", email: "person@example.com" };
    });
  }
}

const SETTINGS: ResultCacheSettings = { finalTtlMs: 300_000, inProgressMs: 1_000, maxEntries: 100 };

function cachedSource(settings: Partial<ResultCacheSettings> = {}) {
  const source = new ScriptedSource();
  let clock = 1_000_000;
  const cache = new CachedSource(source, { settings: { ...SETTINGS, ...settings }, observer: new Metrics(), now: () => clock });
  return { source, cache, advance: (ms: number) => void (clock += ms) };
}

describe("the result cache (one replica)", () => {
  it("keeps a final result for RESULT_CACHE_FINAL_TTL_S and an IN_PROGRESS one for RESULT_CACHE_IN_PROGRESS_MS", async () => {
    const { source, cache, advance } = cachedSource();
    source.tasks.set(id(0), "COMPLETED").set(id(1), "IN_PROGRESS");
    await cache.loadUserAccessTasks([id(0), id(1)]);
    expect(source.asked).toEqual([[id(0), id(1)]]);
    advance(999);
    expect((await cache.loadUserAccessTasks([id(1), id(0)])).map((item) => (item as UserAccessResultItem).resultStatus)).toEqual(["IN_PROGRESS", "COMPLETED"]);
    expect(source.asked).toHaveLength(1);
    // The IN_PROGRESS one is asked again once its second is over; the final one is not.
    advance(1);
    source.tasks.set(id(1), "FAILED");
    expect((await cache.loadUserAccessTasks([id(0), id(1)])).map((item) => (item as UserAccessResultItem).resultStatus)).toEqual(["COMPLETED", "FAILED"]);
    expect(source.asked[1]).toEqual([id(1)]);
    advance(300_000 - 1_000 - 1);
    await cache.loadUserAccessTasks([id(0)]);
    expect(source.asked).toHaveLength(2);
    advance(1);
    await cache.loadUserAccessTasks([id(0)]);
    expect(source.asked[2]).toEqual([id(0)]);
  });

  it("never keeps errors, unknown ids or results without a known status", async () => {
    const { source, cache } = cachedSource();
    source.tasks.set(id(0), new AppFabricServiceError({ statusCode: 500, errorType: "InternalServerException" }));
    const weird = new ScriptedSource();
    for (let round = 0; round < 2; round++) {
      const [failed, unknown] = await cache.loadUserAccessTasks([id(0), id(1)]);
      expect(failed).toBeInstanceOf(AppFabricServiceError);
      expect(unknown).toBeUndefined();
    }
    expect(source.asked).toEqual([
      [id(0), id(1)],
      [id(0), id(1)],
    ]);
    weird.tasks.set(id(2), "PAUSED" as ResultStatus);
    const cache2 = new CachedSource(weird, { settings: SETTINGS, observer: new Metrics() });
    await cache2.loadUserAccessTasks([id(2)]);
    await cache2.loadUserAccessTasks([id(2)]);
    expect(weird.asked).toHaveLength(2);
  });

  it("keeps a shared answer fresh from its first ask, not from the last operation that joined it", async () => {
    // One answer object for every operation that waits for the same call, as the batcher gives it.
    const answer: UserAccessResultItem = { taskId: id(0), resultStatus: "IN_PROGRESS" };
    let release!: () => void;
    const call = new Promise<void>((resolve) => (release = resolve));
    const asked: string[][] = [];
    let clock = 0;
    const cache = new CachedSource(
      {
        loadUserAccessTasks: async (taskIds) => {
          asked.push([...taskIds]);
          await call;
          return [answer];
        },
      },
      { settings: SETTINGS, observer: new Metrics(), now: () => clock },
    );
    const first = cache.loadUserAccessTasks([id(0)]);
    clock = 400;
    const joiner = cache.loadUserAccessTasks([id(0)]);
    release();
    await Promise.all([first, joiner]);
    clock = 1_000;
    await cache.loadUserAccessTasks([id(0)]);
    expect(asked).toHaveLength(3);
  });

  it("with a TTL of 0 keeps nothing of that kind", async () => {
    const { source, cache } = cachedSource({ inProgressMs: 0, finalTtlMs: 0 });
    source.tasks.set(id(0), "COMPLETED").set(id(1), "IN_PROGRESS");
    await cache.loadUserAccessTasks([id(0), id(1)]);
    await cache.loadUserAccessTasks([id(0), id(1)]);
    expect(source.asked).toHaveLength(2);
    expect(cache.size).toBe(0);
  });

  it("is bounded: past RESULT_CACHE_MAX_ENTRIES the least recently used result goes", async () => {
    const { source, cache } = cachedSource({ maxEntries: 3 });
    for (let n = 0; n < 5; n++) source.tasks.set(id(n), "COMPLETED");
    await cache.loadUserAccessTasks([id(0), id(1), id(2)]);
    await cache.loadUserAccessTasks([id(0)]); // 0 is now the most recent
    await cache.loadUserAccessTasks([id(3), id(4)]);
    expect(cache.size).toBe(3);
    source.asked.length = 0;
    await cache.loadUserAccessTasks([id(0), id(1), id(2), id(3), id(4)]);
    expect(source.asked).toEqual([[id(1), id(2)]]);
  });

  it("is bounded in memory too: outsized results take the room of several", async () => {
    const source = new ScriptedSource();
    const big = {
      ...source,
      loadUserAccessTasks: async (taskIds: readonly string[]) =>
        taskIds.map((taskId) => ({ taskId, resultStatus: "COMPLETED" as const, app: "x".repeat(4_000) })),
    };
    const cache = new CachedSource(big, { settings: { ...SETTINGS, maxEntries: 10 }, observer: new Metrics() });
    await cache.loadUserAccessTasks(Array.from({ length: 10 }, (_, n) => id(n)));
    // 10 entries × 2 KB on average is the bound; each of these is about 8 KB.
    expect(cache.size).toBe(2);
  });

  it("answers in the order asked, duplicates kept, hits and misses mixed", async () => {
    const { source, cache } = cachedSource();
    source.tasks.set(id(0), "COMPLETED").set(id(1), "EXPIRED");
    await cache.loadUserAccessTasks([id(1)]);
    const answers = await cache.loadUserAccessTasks([id(0), id(1), id(2), id(1)]);
    expect(answers.map((item) => (item as UserAccessResultItem | undefined)?.taskId)).toEqual([id(0), id(1), undefined, id(1)]);
    expect(source.asked[1]).toEqual([id(0), id(2)]);
  });
});

/** The fleet's store as the test scripts it: what each read answers, which claims are won, what is stored. */
class ScriptedStore implements SharedResultStore {
  readonly reads: Array<Array<CachedResult | undefined>> = [];
  /** What a read answers once `reads` is spent (undefined: Redis did not answer). */
  readAfter: Array<CachedResult | undefined> | undefined;
  /** What claims answer, in turn; then `won`. undefined: Redis did not answer the claim. */
  readonly claims: Array<boolean[] | undefined> = [];
  won: boolean[] | undefined = [];
  readonly claimed: string[][] = [];
  readonly stored: Array<{ results: string[]; released: string[] }> = [];
  async get(taskIds: readonly string[]) {
    const next = this.reads.length > 0 ? this.reads.shift() : this.readAfter;
    return next?.slice(0, taskIds.length);
  }
  async claim(taskIds: readonly string[]): Promise<boolean[] | undefined> {
    this.claimed.push([...taskIds]);
    return this.claims.length > 0 ? this.claims.shift() : this.won;
  }
  async store(results: ReadonlyArray<{ taskId: string }>, released: readonly string[]) {
    this.stored.push({ results: results.map((result) => result.taskId), released: [...released] });
  }
  rejected() {}
}

describe("the result cache with the fleet's store", () => {
  const now = 1_000_000;
  const inProgress = (taskId: string, freshUntil: number): CachedResult => ({ item: { taskId, resultStatus: "IN_PROGRESS", app: "Shared" }, freshUntil });

  function fleetCache() {
    const source = new ScriptedSource();
    source.tasks.set(id(0), "IN_PROGRESS").set(id(1), "IN_PROGRESS");
    const store = new ScriptedStore();
    // Waits between looks at Redis are recorded and end at once (or with the deadline, as the real one does).
    const slept: number[] = [];
    const sleep = async (ms: number, signal: AbortSignal | undefined) => {
      slept.push(ms);
      if (signal?.aborted === true) throw new Error("aborted");
    };
    const cache = new CachedSource(source, { settings: SETTINGS, shared: store, observer: new Metrics(), now: () => now, sleep });
    return { source, store, cache, slept };
  }

  it("serves a stale result while another replica holds the claim to refresh it", async () => {
    const { source, store, cache } = fleetCache();
    store.reads.push([inProgress(id(0), now - 10)]);
    store.won = [false];
    expect(await cache.loadUserAccessTasks([id(0)])).toEqual([inProgress(id(0), 0).item]);
    expect(source.asked).toEqual([]);
  });

  it("refreshes what it claimed, stores it and releases the claim in one go", async () => {
    const { source, store, cache } = fleetCache();
    store.reads.push([inProgress(id(0), now - 10)], [inProgress(id(0), now - 10)]);
    store.won = [true];
    await cache.loadUserAccessTasks([id(0)]);
    expect(source.asked).toEqual([[id(0)]]);
    expect(store.stored).toEqual([{ results: [id(0)], released: [id(0)] }]);
  });

  it("does not refresh twice: a claim won just after another replica's refresh finds that refresh", async () => {
    const { source, store, cache } = fleetCache();
    // First read: stale. The claim is won (the other refresh has just released it). Read again: fresh.
    store.reads.push([inProgress(id(0), now - 10), inProgress(id(1), now - 10)], [inProgress(id(0), now + 900), inProgress(id(1), now - 10)]);
    store.won = [true, true];
    const answers = await cache.loadUserAccessTasks([id(0), id(1)]);
    expect(answers).toHaveLength(2);
    // Only the one still stale goes to AppFabric; the other's claim is released at once.
    expect(source.asked).toEqual([[id(1)]]);
    expect(store.stored).toEqual([
      { results: [], released: [id(0)] },
      { results: [id(1)], released: [id(1)] },
    ]);
  });

  it("claims a task Redis has no result for, and where another replica holds the claim waits for its result", async () => {
    const { source, store, cache, slept } = fleetCache();
    // Nothing in Redis; the claim is lost; 25 ms later still nothing (the claim still taken); 50 ms later, the result.
    store.reads.push([undefined], [undefined], [inProgress(id(0), now + 900)]);
    store.claims.push([false], [false]);
    expect(await cache.loadUserAccessTasks([id(0)])).toEqual([inProgress(id(0), 0).item]);
    expect(source.asked).toEqual([]);
    expect(store.claimed).toEqual([[id(0)], [id(0)]]);
    expect(slept).toEqual([25, 50]);
    // Kept in memory like any result read from Redis.
    expect(cache.size).toBe(1);
  });

  it("fetches a task itself once the replica that claimed it gave the claim up without a result", async () => {
    const { source, store, cache, slept } = fleetCache();
    // Lost, then (the other's call failed: claim released, nothing stored) won; read again: still nothing.
    store.reads.push([undefined], [undefined], [undefined]);
    store.claims.push([false], [true]);
    await cache.loadUserAccessTasks([id(0)]);
    expect(slept).toEqual([25]);
    expect(source.asked).toEqual([[id(0)]]);
    expect(store.stored).toEqual([{ results: [id(0)], released: [id(0)] }]);
  });

  it("waits for another replica at most the claim's 5 s, then asks AppFabric without a claim", async () => {
    const { source, store, cache, slept } = fleetCache();
    store.readAfter = [undefined];
    store.won = [false];
    await cache.loadUserAccessTasks([id(0)]);
    expect(slept.slice(0, 4)).toEqual([25, 50, 100, 200]);
    const waited = slept.reduce((sum, ms) => sum + ms, 0);
    expect(waited).toBeGreaterThanOrEqual(5_000);
    expect(waited).toBeLessThan(5_000 + 200);
    expect(source.asked).toEqual([[id(0)]]);
    expect(store.stored).toEqual([{ results: [id(0)], released: [] }]);
  });

  it("stops waiting at the operation's deadline, and when Redis stops answering", async () => {
    const { source, store, cache, slept } = fleetCache();
    store.reads.push([undefined]);
    store.claims.push([false]);
    const deadline = new AbortController();
    deadline.abort();
    await cache.loadUserAccessTasks([id(0)], { signal: deadline.signal });
    // Not one wait: the source below answers a passed deadline (the batcher without a call).
    expect(slept).toEqual([]);
    expect(source.asked).toEqual([[id(0)]]);
    store.reads.push([undefined]);
    store.claims.push([false]);
    store.readAfter = undefined;
    await cache.loadUserAccessTasks([id(1)]);
    expect(slept).toEqual([25]);
    expect(source.asked[1]).toEqual([id(1)]);
  });

  it("joins another operation of this replica that holds the claim, and asks again only if that one failed", async () => {
    const { source, store, cache } = fleetCache();
    // Both read nothing; the first wins the claim (and reads again: nothing), the second loses it to the first.
    store.reads.push([undefined], [undefined], [undefined]);
    store.claims.push([true], [false]);
    const [first, second] = await Promise.all([cache.loadUserAccessTasks([id(0)]), cache.loadUserAccessTasks([id(0)])]);
    expect(second).toEqual(first);
    expect(source.asked).toEqual([[id(0)]]);
    // The first one's call fails: the second does not take that error for its own.
    source.tasks.set(id(1), new AppFabricServiceError({ statusCode: 500, errorType: "InternalServerException" }));
    store.reads.push([undefined], [undefined], [undefined]);
    store.claims.push([true], [false]);
    await Promise.all([cache.loadUserAccessTasks([id(1)]), cache.loadUserAccessTasks([id(1)])]);
    expect(source.asked.slice(1)).toEqual([[id(1)], [id(1)]]);
  });

  it("refreshes by itself when Redis cannot answer the claim", async () => {
    const { source, store, cache } = fleetCache();
    store.reads.push([inProgress(id(0), now - 10)]);
    store.won = undefined;
    await cache.loadUserAccessTasks([id(0)]);
    expect(source.asked).toEqual([[id(0)]]);
  });
});

describe("values in Redis", () => {
  const item: UserAccessResultItem = {
    taskId: id(0),
    app: "Slack",
    tenantId: "t",
    resultStatus: "FAILED",
    email: "a@example.com",
    taskError: { errorCode: "E", errorMessage: "m" },
  };

  it("round-trip, tied to their task id, without the members this service does not read", () => {
    const encoded = encodeCachedResult(id(0), { item: { ...item, ...({ extra: "x".repeat(100) } as object) }, freshUntil: 5 });
    expect(encoded).not.toContain("extra");
    expect(decodeCachedResult(id(0), encoded)).toEqual({ item, freshUntil: 5 });
    // The same value under another task's key is not an answer for that task.
    expect(decodeCachedResult(id(1), encoded)).toBeUndefined();
  });

  it.each([
    ["not JSON", "{"],
    ["no task id", JSON.stringify({ f: 1, i: { resultStatus: "COMPLETED" } })],
    ["no freshness", JSON.stringify({ t: id(0), i: { resultStatus: "COMPLETED" } })],
    ["an unknown status", JSON.stringify({ t: id(0), f: 1, i: { resultStatus: "PAUSED" } })],
    ["no status", JSON.stringify({ t: id(0), f: 1, i: { app: "x" } })],
    ["a number where text belongs", JSON.stringify({ t: id(0), f: 1, i: { resultStatus: "COMPLETED", email: 5 } })],
    ["a taskError that is not an object", JSON.stringify({ t: id(0), f: 1, i: { resultStatus: "FAILED", taskError: "boom" } })],
    ["a value too long to be ours", JSON.stringify({ t: id(0), f: 1, i: { resultStatus: "COMPLETED", app: "x".repeat(17_000) } })],
  ])("treat %s as a miss", (_name, raw) => {
    expect(decodeCachedResult(id(0), raw)).toBeUndefined();
  });
});

describe("the call gate (one replica)", () => {
  function gate(maxCallsPerSecond?: number) {
    let clock = 1_000_000;
    const metrics = new Metrics();
    const callGate = new FleetCallGate({ observer: metrics, now: () => clock, ...(maxCallsPerSecond === undefined ? {} : { maxCallsPerSecond }) });
    return { callGate, metrics, advance: (ms: number) => void (clock += ms) };
  }

  it("after a 429 with Retry-After refuses every attempt until it has passed, saying how long is left", async () => {
    const { callGate, advance } = gate();
    await callGate.beforeAttempt(undefined);
    callGate.throttled(10);
    await expect(callGate.beforeAttempt(undefined)).rejects.toMatchObject({ name: "HeldByFleetError", reason: "throttled", retryAfterSeconds: 10 });
    advance(7_500);
    await expect(callGate.beforeAttempt(undefined)).rejects.toMatchObject({ retryAfterSeconds: 3 });
    advance(2_500);
    await expect(callGate.beforeAttempt(undefined)).resolves.toBeGreaterThan(0);
  });

  it("holds 1 s for a burst of 429s without Retry-After, however many: they answer attempts sent before the hold", async () => {
    const { callGate, advance } = gate();
    const sent = await Promise.all(Array.from({ length: 8 }, () => callGate.beforeAttempt(undefined)));
    advance(150); // the 429s come back, one after another
    for (const sentAt of sent) callGate.throttled(undefined, sentAt);
    expect(callGate.heldForMs()).toBe(1_000);
  });

  it("doubles the hold only when attempts sent after it are throttled again: 1 s, 2 s, 4 s; after a quiet spell 1 s again", async () => {
    const { callGate, advance } = gate();
    const holds: number[] = [];
    for (let round = 0; round < 3; round++) {
      const sent = await Promise.all(Array.from({ length: 8 }, () => callGate.beforeAttempt(undefined)));
      advance(100);
      for (const sentAt of sent) callGate.throttled(undefined, sentAt);
      holds.push(callGate.heldForMs());
      advance(callGate.heldForMs()); // the hold ends; the next attempts go at once
    }
    expect(holds).toEqual([1_000, 2_000, 4_000]);
    advance(10_000); // longer than the last hold: no longer "again"
    const sentAt = await callGate.beforeAttempt(undefined);
    callGate.throttled(undefined, sentAt);
    expect(callGate.heldForMs()).toBe(1_000);
  });

  it("caps the doubling at 60 s", async () => {
    const { callGate, advance } = gate();
    const holds: number[] = [];
    for (let round = 0; round < 8; round++) {
      callGate.throttled(undefined, await callGate.beforeAttempt(undefined));
      holds.push(callGate.heldForMs());
      advance(callGate.heldForMs());
    }
    expect(holds).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]);
  });

  it("caps a hold at 60 s whatever Retry-After says", () => {
    const { callGate } = gate();
    callGate.throttled(86_400);
    expect(callGate.heldForMs()).toBe(60_000);
  });

  it("waits out a short hold instead of refusing, and stops waiting when the deadline passes", async () => {
    const { callGate } = gate();
    callGate.throttled(undefined); // 1 s, under the 2 s a caller waits
    const deadline = new AbortController();
    const waiting = callGate.beforeAttempt(deadline.signal);
    deadline.abort();
    await expect(waiting).rejects.toMatchObject({ failure: "deadline" });
  });

  it("keeps APPFABRIC_MAX_CALLS_PER_SECOND in this replica without Redis", async () => {
    const { callGate } = gate(3);
    for (let n = 0; n < 3; n++) await callGate.beforeAttempt(undefined);
    const deadline = new AbortController();
    const fourth = callGate.beforeAttempt(deadline.signal);
    deadline.abort();
    await expect(fourth).rejects.toMatchObject({ failure: "deadline" });
    expect(new HeldByFleetError("rate", 1).message).toContain("APPFABRIC_MAX_CALLS_PER_SECOND");
  });
});
