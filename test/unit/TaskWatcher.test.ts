import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { AppFabricServiceError } from "../../src/appfabric/errors.js";
import type { ResultStatus, UserAccessResultItem } from "../../src/appfabric/types.js";
import type { LoadOptions, UserAccessTaskSource } from "../../src/loaders/UserAccessTaskSource.js";
import { TaskWatcher } from "../../src/subscriptions/TaskWatcher.js";
import type { TaskWatcherOptions } from "../../src/subscriptions/TaskWatcherOptions.js";
import type { WatchedTask } from "../../src/subscriptions/watchState.js";
import { CachedSource } from "../../src/loaders/CachedSource.js";
import { Metrics } from "../../src/observability/Metrics.js";
import { syntheticTaskId as id } from "../fixtures/syntheticTasks.js";

/**
 * A source whose tasks the test sets: each load is recorded and, unless `hold` is on, answered on the
 * next microtask from `tasks` (an id missing from it is unknown to AppFabric; an Error fails it).
 */
class ScriptedSource implements UserAccessTaskSource {
  readonly tasks = new Map<string, ResultStatus | Error>();
  readonly loads: Array<{ taskIds: string[]; signal: AbortSignal | undefined; answer: () => void }> = [];
  hold = false;

  loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}): Promise<Array<UserAccessResultItem | undefined | Error>> {
    return new Promise((resolve) => {
      const answer = () =>
        resolve(
          taskIds.map((taskId) => {
            if (options.signal?.aborted) return new Error("aborted");
            const task = this.tasks.get(taskId);
            return task === undefined || task instanceof Error ? task : { taskId, resultStatus: task, app: "App" };
          }),
        );
      this.loads.push({ taskIds: [...taskIds], signal: options.signal, answer });
      if (!this.hold) queueMicrotask(answer);
    });
  }
}

/** Timers the test fires by hand, in the order they were set. */
function manualTimers() {
  const pending: Array<{ run: () => void; ms: number; cancelled: boolean }> = [];
  const setTimer = (run: () => void, ms: number) => {
    const timer = { run, ms, cancelled: false };
    pending.push(timer);
    return () => void (timer.cancelled = true);
  };
  const live = () => pending.filter((timer) => !timer.cancelled);
  return {
    setTimer,
    /** Timers set and not cancelled nor fired, with their delays. */
    live,
    /** Fires the next live timer of `ms` (a poll, not a lifetime). */
    fire(ms: number) {
      const timer = live().find((candidate) => candidate.ms === ms);
      if (timer === undefined) throw new Error(`no live timer of ${ms} ms`);
      timer.cancelled = true;
      timer.run();
    },
  };
}

const INTERVAL = 1000;
/** The delay of the one poll timer set, whatever it is. */
const live = (timers: ReturnType<typeof manualTimers>) => timers.live().find((timer) => timer.ms <= INTERVAL)?.ms ?? -1;
const LIFETIME = 3_600_000;
const settle = () => new Promise((resolve) => setImmediate(resolve));

function newWatcher(source: UserAccessTaskSource, options: Partial<TaskWatcherOptions> = {}) {
  const timers = manualTimers();
  let clock = 0;
  const polls: number[] = [];
  const watcher = new TaskWatcher({
    source,
    intervalMs: INTERVAL,
    maxWatchedIds: 100,
    maxSubscriptions: 100,
    maxLifetimeMs: LIFETIME,
    setTimer: timers.setTimer,
    now: () => clock,
    observer: { watcherPolled: (ids) => polls.push(ids), watchShareRefused: () => undefined },
    ...options,
  });
  return { watcher, timers, polls, advance: (ms: number) => (clock += ms) };
}

/** Reads a subscription's snapshots as they come. */
function reader(events: AsyncIterator<WatchedTask[]>) {
  const received: WatchedTask[][] = [];
  let ended: "done" | Error | undefined;
  void (async () => {
    try {
      for (;;) {
        const next = await events.next();
        if (next.done) break;
        received.push(next.value);
      }
      ended = "done";
    } catch (error) {
      ended = error as Error;
    }
  })();
  return { received, ended: () => ended };
}

const statusesOf = (snapshot: WatchedTask[] | undefined) =>
  snapshot?.map((task) => (task instanceof GraphQLError ? String(task.extensions["code"]) : task.resultStatus));

describe("TaskWatcher over the result cache", () => {
  it("still asks AppFabric once per interval: an answer is fresh for the interval from when it was asked, however long it took", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS");
    let clock = 0;
    const cache = new CachedSource(
      {
        // Each answer takes 25 ms of the clock.
        loadUserAccessTasks: async (taskIds, options) => {
          const answer = await source.loadUserAccessTasks(taskIds, options);
          clock += 25;
          return answer;
        },
      },
      { settings: { finalTtlMs: 300_000, inProgressMs: INTERVAL, maxEntries: 10 }, observer: new Metrics(), now: () => clock },
    );
    const timers = manualTimers();
    const watcher = new TaskWatcher({
      source: cache,
      intervalMs: INTERVAL,
      maxWatchedIds: 10,
      maxSubscriptions: 10,
      maxLifetimeMs: LIFETIME,
      setTimer: timers.setTimer,
      now: () => clock,
    });
    const events = reader(watcher.subscribe([id(1)]).events);
    await settle();
    for (let poll = 1; poll <= 3; poll++) {
      clock = poll * INTERVAL;
      timers.fire(live(timers));
      await settle();
      expect(source.loads).toHaveLength(poll + 1);
    }
    expect(events.received).toHaveLength(1);
  });
});

describe("TaskWatcher", () => {
  it("sends the current state at once, in the order asked, duplicates and unanswerable ids in place", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS").set(id(2), "COMPLETED");
    const { watcher } = newWatcher(source);
    const events = reader(watcher.subscribe([id(2), "not-a-uuid", id(1).toUpperCase(), id(3), id(2)]).events);
    await settle();
    expect(source.loads.map((load) => load.taskIds)).toEqual([[id(2), id(1), id(3)]]);
    expect(events.received.map(statusesOf)).toEqual([["COMPLETED", "BAD_USER_INPUT", "IN_PROGRESS", "NOT_FOUND", "COMPLETED"]]);
    expect(events.ended()).toBeUndefined();
  });

  it("polls every watched id that can still change once per interval, whoever watches it, and sends only changes", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS").set(id(2), "IN_PROGRESS").set(id(3), "COMPLETED");
    const { watcher, timers, polls } = newWatcher(source);
    const readers = Array.from({ length: 100 }, (_, n) => reader(watcher.subscribe(n % 2 === 0 ? [id(1), id(3)] : [id(2), id(1)]).events));
    await settle();
    // Each id is asked for once: later subscribers joined its load or found it known.
    expect(source.loads.map((load) => load.taskIds)).toEqual([[id(1), id(3)], [id(2)]]);
    expect(readers.every((r) => r.received.length === 1)).toBe(true);

    timers.fire(INTERVAL);
    await settle();
    expect(source.loads[2]?.taskIds).toEqual([id(1), id(2)]); // id(3) is final: never asked again
    expect(readers.every((r) => r.received.length === 1)).toBe(true); // nothing changed, nothing sent

    source.tasks.set(id(2), "FAILED");
    timers.fire(INTERVAL);
    await settle();
    expect(readers.filter((r) => r.received.length === 2)).toHaveLength(50); // only id(2)'s watchers
    expect(statusesOf(readers[1]?.received[1])).toEqual(["FAILED", "IN_PROGRESS"]);
    expect(polls).toEqual([2, 2]);
  });

  it("completes a subscription when every task is final, and stops polling when nothing can change", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS");
    const { watcher, timers } = newWatcher(source);
    const subscription = watcher.subscribe([id(1), id(9)]);
    const events = reader(subscription.events);
    await settle();
    source.tasks.set(id(1), "EXPIRED");
    timers.fire(INTERVAL);
    await settle();
    expect(events.received.map(statusesOf)).toEqual([
      ["IN_PROGRESS", "NOT_FOUND"],
      ["EXPIRED", "NOT_FOUND"],
    ]);
    expect(events.ended()).toBe("done");
    expect(subscription.outcome).toBe("completed");
    expect(subscription.sent).toBe(2);
    expect(timers.live().filter((timer) => timer.ms === INTERVAL)).toEqual([]);
    expect(watcher.size).toEqual({ subscriptions: 0, watchedIds: 0 });
  });

  it("forgets an id when its last subscriber leaves, cancels its load, and stops polling", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS").set(id(2), "IN_PROGRESS");
    const { watcher, timers } = newWatcher(source);
    const first = watcher.subscribe([id(1), id(2)]);
    const second = watcher.subscribe([id(2)]);
    await settle();
    source.hold = true;
    timers.fire(INTERVAL);
    const poll = source.loads[1];
    await first.events.return();
    expect(poll?.signal?.aborted).toBe(false); // id(2) is still watched
    await second.events.return();
    expect(poll?.signal?.aborted).toBe(true);
    poll?.answer();
    await settle();
    expect(watcher.size).toEqual({ subscriptions: 0, watchedIds: 0 });
    expect(timers.live().filter((timer) => timer.ms === INTERVAL)).toEqual([]);
    expect(first.outcome).toBe("cancelled");
  });

  it("keeps subscribers on a throttled poll, shows THROTTLED in the task's place, and waits AppFabric's Retry-After", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS");
    const { watcher, timers } = newWatcher(source);
    const events = reader(watcher.subscribe([id(1)]).events);
    await settle();
    source.tasks.set(id(1), new AppFabricServiceError({ statusCode: 429, errorType: "ThrottlingException", retryAfterSeconds: 7 }));
    timers.fire(INTERVAL);
    await settle();
    expect(statusesOf(events.received[1])).toEqual(["THROTTLED"]);
    expect(events.ended()).toBeUndefined();
    expect(timers.live().map((timer) => timer.ms)).toContain(7_000);

    // Without Retry-After the wait doubles per failed poll, up to 30 s.
    source.tasks.set(id(1), new AppFabricServiceError({ statusCode: 503, errorType: "ServiceUnavailable" }));
    timers.fire(7_000);
    await settle();
    expect(timers.live().map((timer) => timer.ms)).toContain(4 * INTERVAL);

    source.tasks.set(id(1), "COMPLETED");
    timers.fire(4 * INTERVAL);
    await settle();
    expect(events.received.map(statusesOf)).toEqual([["IN_PROGRESS"], ["THROTTLED"], ["UPSTREAM_ERROR"], ["COMPLETED"]]);
    expect(events.ended()).toBe("done");
  });

  it("ends a failed-for-good task's watch, and a subscription whose every id is unanswerable at once", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), new AppFabricServiceError({ statusCode: 403, errorType: "AccessDeniedException" }));
    const { watcher } = newWatcher(source);
    const denied = reader(watcher.subscribe([id(1)]).events);
    const malformed = reader(watcher.subscribe(["x", "y"]).events);
    const empty = reader(watcher.subscribe([]).events);
    await settle();
    expect(denied.received.map(statusesOf)).toEqual([["FORBIDDEN"]]);
    expect(malformed.received.map(statusesOf)).toEqual([["BAD_USER_INPUT", "BAD_USER_INPUT"]]);
    expect(empty.received).toEqual([[]]);
    expect([denied.ended(), malformed.ended(), empty.ended()]).toEqual(["done", "done", "done"]);
  });

  it("refuses a subscription past the watched-id or subscription bound with OVERLOADED, watching nothing for it", () => {
    const source = new ScriptedSource();
    const { watcher } = newWatcher(source, { maxWatchedIds: 3, maxSubscriptions: 2 });
    watcher.subscribe([id(1), id(2)]);
    expect(() => watcher.subscribe([id(3), id(4)])).toThrow(expect.objectContaining({ extensions: expect.objectContaining({ code: "OVERLOADED" }) }));
    watcher.subscribe([id(1), id(3)]); // one new id: fits
    expect(() => watcher.subscribe([id(1)])).toThrow(/2 subscriptions are active/);
    expect(watcher.size).toEqual({ subscriptions: 2, watchedIds: 3 });
  });

  it("holds each caller to its share of watched ids (RATE_LIMITED), counting an id once however often it watches it, and gives it back when a subscription ends", async () => {
    const source = new ScriptedSource();
    let refused = 0;
    const { watcher } = newWatcher(source, {
      maxWatchedIds: 100,
      maxWatchedIdsPerCaller: 3,
      observer: { watcherPolled: () => undefined, watchShareRefused: () => (refused += 1) },
    });
    const first = watcher.subscribe([id(1), id(2), id(2)], "flood");
    watcher.subscribe([id(1), id(3)], "flood"); // one new id for this caller: fits
    expect(() => watcher.subscribe([id(4)], "flood")).toThrow(
      expect.objectContaining({ extensions: expect.objectContaining({ code: "RATE_LIMITED", reason: "watched_ids", retryAfterSeconds: 10 }) }),
    );
    expect(refused).toBe(1);
    // Another caller has a share of its own, even for the same ids.
    watcher.subscribe([id(1), id(4), id(5)], "victim");
    expect(watcher.size).toEqual({ subscriptions: 3, watchedIds: 5 });
    // Ending the first subscription gives back id(2) only: id(1) is still watched by the second.
    await first.events.return();
    watcher.subscribe([id(6)], "flood");
    expect(() => watcher.subscribe([id(7)], "flood")).toThrow(/SUBSCRIPTION_MAX_WATCHED_IDS_PER_CALLER/);
    // Without a caller (no share is asked for), only the process bound applies.
    watcher.subscribe([id(8), id(9), id(10), id(11)]);
  });

  it("ends a subscription that reaches its lifetime with SUBSCRIPTION_EXPIRED", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS");
    const { watcher, timers } = newWatcher(source);
    const subscription = watcher.subscribe([id(1)]);
    const events = reader(subscription.events);
    await settle();
    timers.fire(LIFETIME);
    await settle();
    expect(events.ended()).toMatchObject({ extensions: { code: "SUBSCRIPTION_EXPIRED" } });
    expect(subscription.outcome).toBe("expired");
    expect(watcher.size.watchedIds).toBe(0);
  });

  it("keeps only the latest snapshot for a subscriber that has not taken the previous one", async () => {
    const source = new ScriptedSource();
    source.tasks.set(id(1), "IN_PROGRESS");
    const { watcher, timers } = newWatcher(source);
    const { events } = watcher.subscribe([id(1)]);
    await settle();
    source.tasks.set(id(1), new AppFabricServiceError({ statusCode: 500, errorType: "InternalServerException" }));
    timers.fire(INTERVAL);
    await settle();
    source.tasks.set(id(1), "COMPLETED");
    timers.fire(2 * INTERVAL);
    await settle();
    // Three snapshots were made; the reader, arriving late, gets the last and the end.
    expect(statusesOf((await events.next()).value as WatchedTask[])).toEqual(["COMPLETED"]);
    expect((await events.next()).done).toBe(true);
  });
});
