import { describe, expect, it } from "vitest";
import { AppFabricServiceError } from "../../src/appfabric/errors.js";
import type { UserAccessResultItem } from "../../src/appfabric/types.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";
import { CrossOperationBatcher, type CrossOperationBatcherOptions } from "../../src/loaders/CrossOperationBatcher.js";
import { UserAccessTaskLoader } from "../../src/loaders/UserAccessTaskLoader.js";
import type { BatchGetter } from "../../src/loaders/UserAccessTaskSource.js";
import type { CallTrace } from "../../src/appfabric/callEvents.js";

/** An in-memory AppFabric that records calls, answers after `latencyMs`, and tracks concurrency. */
class SlowAppFabric implements BatchGetter {
  readonly calls: string[][] = [];
  inFlight = 0;
  peakInFlight = 0;
  readonly #tasks = new Map(syntheticTasks(500).map((task) => [task.taskId ?? "", task]));
  constructor(
    private readonly latencyMs = 20,
    private readonly failWhen: (taskIds: readonly string[]) => boolean = () => false,
  ) {}

  async batchGetUserAccessTasks(taskIds: readonly string[]): Promise<UserAccessResultItem[]> {
    this.calls.push([...taskIds]);
    this.peakInFlight = Math.max(this.peakInFlight, ++this.inFlight);
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    this.inFlight -= 1;
    if (this.failWhen(taskIds)) throw new AppFabricServiceError({ statusCode: 500, errorType: "InternalServerException" });
    return taskIds.flatMap((taskId) => this.#tasks.get(taskId) ?? []).reverse();
  }
}

const id = syntheticTaskId;
const newBatcher = (appFabric: BatchGetter, options: Omit<CrossOperationBatcherOptions, "maxQueuedIds"> & { maxQueuedIds?: number }) =>
  new CrossOperationBatcher(appFabric, { maxQueuedIds: 5_000, ...options });

/** A window that ends when the test says so, not on a clock. */
function manualWindow() {
  const open: { dispatch: () => void; windowMs: number; cancelled: boolean }[] = [];
  const scheduleWindow = (dispatch: () => void, windowMs: number) => {
    const window = { dispatch, windowMs, cancelled: false };
    open.push(window);
    return () => {
      window.cancelled = true;
    };
  };
  /** Ends the oldest window still open. */
  const end = () => {
    const window = open.find((candidate) => !candidate.cancelled);
    if (window === undefined) throw new Error("no window is open");
    window.cancelled = true;
    window.dispatch();
  };
  return { scheduleWindow, end, opened: () => open.length };
}

/** A new operation: its own loader over the shared batcher. */
const operation = (batcher: CrossOperationBatcher, deadline?: AbortSignal) => new UserAccessTaskLoader(batcher, { deadline });

class HeldAppFabric implements BatchGetter {
  readonly calls: Array<{ taskIds: string[]; signal: AbortSignal | undefined; release: () => void }> = [];
  async batchGetUserAccessTasks(taskIds: readonly string[], options: { signal?: AbortSignal } = {}): Promise<UserAccessResultItem[]> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.calls.push({ taskIds: [...taskIds], signal: options.signal, release });
    await released;
    return taskIds.map((taskId) => ({ taskId, resultStatus: "COMPLETED" }));
  }
}

const ids = (from: number, count: number) => Array.from({ length: count }, (_, n) => id(from + n));
/** One turn of the event loop: full calls leave on the next one. */
const turn = () => new Promise((resolve) => setImmediate(resolve));
/** Operations' loaders hand their ids over within a turn, and the batcher sends on the next: two turns. */
const loadersRan = async () => {
  await turn();
  await turn();
};

describe("CrossOperationBatcher", () => {
  it("shares one call among operations that ask within the window", async () => {
    const appFabric = new SlowAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 8 });
    const answers = await Promise.all(Array.from({ length: 10 }, (_, n) => operation(batcher).load(id(n))));

    expect(answers.map((task) => task.taskId)).toEqual(Array.from({ length: 10 }, (_, n) => id(n)));
    expect(appFabric.calls).toHaveLength(1);
    expect(appFabric.calls[0]).toHaveLength(10);
  });

  it("sends at once (next turn, no window) when no call is under way: a lone client pays no window", async () => {
    const appFabric = new HeldAppFabric();
    const window = manualWindow();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 8, scheduleWindow: window.scheduleWindow });
    const first = operation(batcher).load(id(1));
    const second = operation(batcher).load(id(2)); // the same turn: the same call
    await loadersRan();
    expect(appFabric.calls.map((call) => call.taskIds)).toEqual([[id(1), id(2)]]);
    expect(window.opened()).toBe(0);
    appFabric.calls[0]?.release();
    await Promise.all([first, second]);
  });

  it("while a call is under way, gathers new ids until the window ends, then sends whoever came", async () => {
    const appFabric = new HeldAppFabric();
    const window = manualWindow();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 8, scheduleWindow: window.scheduleWindow });
    const first = operation(batcher).load(id(1));
    await loadersRan(); // out, and held
    const second = operation(batcher).load(id(2));
    await loadersRan();
    const third = operation(batcher).load(id(3));
    await loadersRan();
    expect(appFabric.calls).toHaveLength(1); // id 2 and 3 wait for company
    expect(window.opened()).toBe(1); // one window for both
    window.end();
    expect(appFabric.calls.map((call) => call.taskIds)).toEqual([[id(1)], [id(2), id(3)]]);
    for (const call of appFabric.calls) call.release();
    expect((await Promise.all([first, second, third])).map((task) => task.taskId)).toEqual([id(1), id(2), id(3)]);
  });

  it("never asks twice for an id already in a call: later operations share its answer", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 1, maxInFlight: 8 });
    const first = operation(batcher).load(id(7));
    await loadersRan();
    expect(batcher.pending).toMatchObject({ waiting: 0, inFlight: 1 }); // the first call is out
    const second = operation(batcher).load(id(7));
    await loadersRan();
    appFabric.calls[0]?.release();

    expect((await first).taskId).toBe(id(7));
    expect((await second).taskId).toBe(id(7));
    expect(appFabric.calls.map((call) => call.taskIds)).toEqual([[id(7)]]);
  });

  it("gives each operation only the ids it asked for", async () => {
    const appFabric = new SlowAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 8 });
    const a = operation(batcher);
    const b = operation(batcher);
    const [a1, a2, b1] = await Promise.all([a.load(id(1)), a.load(id(2)), b.load(id(3))]);

    expect([a1.taskId, a2.taskId, b1.taskId]).toEqual([id(1), id(2), id(3)]);
    expect(a.idsRequested).toBe(2);
    expect(b.idsRequested).toBe(1);
    expect(appFabric.calls).toHaveLength(1);
  });

  it("keeps calls at 50 ids or fewer and at most maxInFlight at once; the rest gather into the next calls", async () => {
    const appFabric = new SlowAppFabric(20);
    const batcher = newBatcher(appFabric, { windowMs: 1, maxInFlight: 2 });
    const loads = Array.from({ length: 230 }, (_, n) => operation(batcher).load(id(n)));
    await Promise.all(loads);

    expect(appFabric.calls.every((call) => call.length <= 50)).toBe(true);
    expect(appFabric.calls.flat().sort()).toEqual(Array.from({ length: 230 }, (_, n) => id(n)).sort());
    expect(appFabric.calls).toHaveLength(5); // ceil(230 / 50): nothing sent half-empty while slots were busy
    expect(appFabric.peakInFlight).toBe(2);
  });

  it("fails only the ids of a failed call, for every operation that asked for them", async () => {
    const appFabric = new SlowAppFabric(10, (taskIds) => taskIds.includes(id(60)));
    const batcher = newBatcher(appFabric, { windowMs: 1, maxInFlight: 8 });
    const a = operation(batcher);
    const b = operation(batcher);
    const results = await Promise.allSettled([...Array.from({ length: 100 }, (_, n) => a.load(id(n))), b.load(id(60)), b.load(id(10))]);
    const failed = results.map((result) => result.status === "rejected");

    const failedCall = appFabric.calls.find((call) => call.includes(id(60))) ?? [];
    expect(failed.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, n) => failedCall.includes(id(n))));
    expect(failed.slice(100)).toEqual([true, failedCall.includes(id(10))]);
  });

  it("ends an operation's wait at its deadline; the shared call still answers the others", async () => {
    const appFabric = new SlowAppFabric(100);
    const batcher = newBatcher(appFabric, { windowMs: 1, maxInFlight: 8 });
    const hurried = operation(batcher, AbortSignal.timeout(20)).load(id(5));
    const patient = operation(batcher).load(id(5));

    await expect(hurried).rejects.toMatchObject({ extensions: { code: "UPSTREAM_UNAVAILABLE" } });
    await expect(patient).resolves.toMatchObject({ taskId: id(5) });
    expect(appFabric.calls).toHaveLength(1);
  });
});

/** An AppFabric whose calls wait until the test releases them, keeping each call's signal. */
describe("CrossOperationBatcher and callers who have gone", () => {
  it("takes an id out of the line when its only asker's deadline passes, and never sends it", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1 });
    const first = batcher.loadUserAccessTasks(ids(0, 50));
    await turn();
    const deadline = new AbortController();
    const second = batcher.loadUserAccessTasks(ids(50, 50), { signal: deadline.signal });
    await turn();
    expect(batcher.pending).toMatchObject({ waiting: 50, calls: 1 });

    deadline.abort();
    expect((await second).every((answer) => answer instanceof Error && answer.message.includes("deadline"))).toBe(true);
    expect(batcher.pending.waiting).toBe(0);
    appFabric.calls[0]?.release();
    await first;
    await turn();
    expect(appFabric.calls).toHaveLength(1);
  });

  it("does not send a full call whose only asker hung up in the same turn", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1 });
    const gone = new AbortController();
    const answers = batcher.loadUserAccessTasks(ids(0, 50), { signal: gone.signal });
    gone.abort();
    await answers;
    await turn();
    expect(appFabric.calls).toEqual([]);
  });

  it("cancels a call under way once none of its ids is wanted, and a later asker starts afresh", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 8 });
    const a = new AbortController();
    const b = new AbortController();
    void batcher.loadUserAccessTasks(ids(0, 50), { signal: a.signal });
    void batcher.loadUserAccessTasks(ids(0, 10), { signal: b.signal });
    await turn();
    const call = appFabric.calls[0];
    a.abort();
    await turn();
    expect(call?.signal?.aborted).toBe(false); // b still waits for ten of its ids
    b.abort();
    await turn();
    expect(call?.signal?.aborted).toBe(true);
    expect(batcher.pending).toMatchObject({ waiting: 0, inFlight: 0 });

    const again = batcher.loadUserAccessTasks([id(3)]);
    await new Promise((resolve) => setTimeout(resolve, 1));
    expect(appFabric.calls).toHaveLength(2);
    appFabric.calls[1]?.release();
    expect(await again).toEqual([{ taskId: id(3), resultStatus: "COMPLETED" }]);
  });

  it("refuses ids past maxQueuedIds at once with a retryable OverloadedError, and keeps the rest", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1, maxQueuedIds: 60 });
    void batcher.loadUserAccessTasks(ids(0, 50));
    await turn(); // in flight
    const answers = batcher.loadUserAccessTasks(ids(50, 100));
    expect(batcher.pending.waiting).toBe(60);
    for (let call = 0; call < 3; call++) {
      await turn();
      appFabric.calls[call]?.release();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const settled = await answers;
    expect(settled.filter((answer) => answer instanceof Error && answer.name === "OverloadedError")).toHaveLength(40);
    expect(settled.filter((answer) => !(answer instanceof Error))).toHaveLength(60);
  });
});

describe("the line shared between callers", () => {
  /** Settles every held call in turn until `answers` is settled. */
  const releaseAll = async <T>(appFabric: HeldAppFabric, answers: Promise<T>): Promise<T> => {
    let done = false;
    void answers.then(() => (done = true));
    for (let call = 0; !done && call < 100; call++) {
      await turn();
      appFabric.calls[call]?.release();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    return answers;
  };

  it("lets a caller alone fill the line; a newcomer still gets in (up to its share, past the bound), and the first caller's next ids are RATE_LIMITED", async () => {
    const appFabric = new HeldAppFabric();
    let refusals = 0;
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1, maxQueuedIds: 100, observer: { queueShareRefused: () => (refusals += 1) } });
    void batcher.loadUserAccessTasks(ids(0, 50), { caller: "flood" });
    await turn(); // the first call is under way; everything else waits
    const flood = batcher.loadUserAccessTasks(ids(50, 120), { caller: "flood" });
    // Alone, the flood fills the line: 100 wait, 20 are refused by the line's own bound.
    expect(batcher.pending.waiting).toBe(100);
    const victim = batcher.loadUserAccessTasks(ids(300, 60), { caller: "victim" });
    // Two callers: the victim may hold 50, past the line's bound.
    expect(batcher.pending.waiting).toBe(150);
    const more = batcher.loadUserAccessTasks([id(400)], { caller: "flood" });
    const settled = await releaseAll(appFabric, Promise.all([flood, victim, more]));
    expect(settled[0].flatMap((answer) => (answer instanceof Error ? [answer.name] : []))).toEqual(Array.from({ length: 20 }, () => "OverloadedError"));
    const victimRefused = settled[1].flatMap((answer) => (answer instanceof Error ? [answer] : []));
    expect(victimRefused).toHaveLength(10);
    expect(victimRefused.every((answer) => answer.name === "RateLimitedError" && (answer as unknown as { reason: string }).reason === "queue_share")).toBe(
      true,
    );
    // The flood holds more than its share now: its next id is RATE_LIMITED.
    expect(settled[2][0]).toMatchObject({ name: "RateLimitedError" });
    expect(refusals).toBe(11);
  });

  it("shares out the line equally between the callers waiting", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1, maxQueuedIds: 90 });
    void batcher.loadUserAccessTasks(ids(0, 50), { caller: "a" });
    await turn();
    const answers = Promise.all([
      batcher.loadUserAccessTasks([id(300)], { caller: "c" }),
      batcher.loadUserAccessTasks([id(301)], { caller: "b" }),
      batcher.loadUserAccessTasks(ids(50, 40), { caller: "a" }),
    ]);
    // Three callers waiting: a holds at most 90 / 3 = 30.
    expect(batcher.pending.waiting).toBe(32);
    const settled = await releaseAll(appFabric, answers);
    expect(settled[2].filter((answer) => answer instanceof Error)).toHaveLength(10);
  });

  it("fills each call round-robin over the callers waiting, so a caller with one id rides the next call, not the flood's last", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1, maxQueuedIds: 5_000 });
    void batcher.loadUserAccessTasks(ids(0, 50), { caller: "flood" });
    await turn();
    const flood = batcher.loadUserAccessTasks(ids(50, 400), { caller: "flood" });
    const victim = batcher.loadUserAccessTasks([id(460)], { caller: "victim" });
    const other = batcher.loadUserAccessTasks([id(470), id(471)], { caller: "other" });
    appFabric.calls[0]?.release();
    await new Promise((resolve) => setTimeout(resolve, 1));
    await turn();
    const second = appFabric.calls[1]?.taskIds ?? [];
    expect(second).toHaveLength(50);
    // The flood's oldest id, then one from each caller in turn, then the flood's.
    expect(second.slice(0, 4)).toEqual([id(50), id(460), id(470), id(51)]);
    expect(second).toContain(id(471));
    await releaseAll(appFabric, Promise.all([flood, victim, other]));
  });

  it("keeps the last free call slot for another caller: one caller alone takes every slot but one, and a newcomer is sent at once", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 4, maxQueuedIds: 5_000 });
    const flood = batcher.loadUserAccessTasks(ids(0, 400), { caller: "flood" });
    await loadersRan();
    expect(batcher.pending.calls).toBe(3);
    const victim = batcher.loadUserAccessTasks([id(460)], { caller: "victim" });
    await loadersRan();
    expect(batcher.pending.calls).toBe(4);
    // The fourth call carries the victim's id, round-robin with the flood's next ones.
    expect(appFabric.calls[3]?.taskIds.slice(0, 2)).toEqual([id(150), id(460)]);
    await releaseAll(appFabric, Promise.all([flood, victim]));
  });

  it("counts loads without a caller (the watcher's polls) toward the line, never toward a share", async () => {
    const appFabric = new HeldAppFabric();
    const batcher = newBatcher(appFabric, { windowMs: 0, maxInFlight: 1, maxQueuedIds: 60 });
    void batcher.loadUserAccessTasks(ids(0, 50));
    await turn();
    const answers = batcher.loadUserAccessTasks(ids(50, 60));
    expect(batcher.pending.waiting).toBe(60);
    await releaseAll(appFabric, answers);
  });
});

/** An AppFabric that records the traces each call serves; with `holdFirst`, the first call stays under way until released. */
function traceRecorder({ holdFirst }: { holdFirst: boolean }) {
  const traces: Array<CallTrace | undefined> = [];
  let releaseFirst!: () => void;
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
  const appFabric: BatchGetter = {
    batchGetUserAccessTasks: async (_taskIds, options) => {
      traces.push(options?.trace);
      if (holdFirst && traces.length === 1) await firstHeld;
      return [];
    },
  };
  return { traces, appFabric, releaseFirst };
}

describe("the traces a shared call serves", () => {
  const span = (n: number) => ({ traceId: n.toString(16).padStart(32, "0"), spanId: n.toString(16).padStart(16, "0"), traceFlags: 1 });

  it("makes the first traced operation the call's parent and links the others, once each", async () => {
    const { traces, appFabric, releaseFirst } = traceRecorder({ holdFirst: true });
    const window = manualWindow();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 4, scheduleWindow: window.scheduleWindow });
    // One call under way, so that the next ids gather in a window.
    const first = batcher.loadUserAccessTasks([id(0)], { trace: span(1) });
    await new Promise((resolve) => setImmediate(resolve));
    const gathered = [
      batcher.loadUserAccessTasks([id(1), id(2)], { trace: span(2) }),
      batcher.loadUserAccessTasks([id(3)]),
      batcher.loadUserAccessTasks([id(4)], { trace: span(3) }),
      batcher.loadUserAccessTasks([id(2), id(5)], { trace: span(4) }),
    ];
    window.end();
    releaseFirst();
    await Promise.all([first, ...gathered]);

    expect(traces[0]).toEqual({ parent: span(1), links: [] });
    // In the order they asked for the call's ids (span(4) joined id(2), waiting with span(2)).
    expect(traces[1]).toEqual({ parent: span(2), links: [span(4), span(3)] });
  });

  it("links an operation that only joined an id already waiting, and drops one that left", async () => {
    const { traces, appFabric, releaseFirst } = traceRecorder({ holdFirst: true });
    const window = manualWindow();
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 4, scheduleWindow: window.scheduleWindow });
    const first = batcher.loadUserAccessTasks([id(0)]);
    await new Promise((resolve) => setImmediate(resolve));
    const leaving = new AbortController();
    const left = batcher.loadUserAccessTasks([id(1)], { trace: span(1), signal: leaving.signal }); // asks first, then leaves
    const notSampled = batcher.loadUserAccessTasks([id(1)], { trace: { ...span(2), traceFlags: 0 } });
    const joiner = batcher.loadUserAccessTasks([id(1)], { trace: span(3) }); // brings no id of its own
    leaving.abort();
    await left;
    window.end();
    releaseFirst();
    await Promise.all([first, notSampled, joiner]);

    expect(traces[1]).toEqual({ parent: span(3), links: [] });
  });

  it("never lets a caller's 'not sampled' hide a shared call from a sampled trace", async () => {
    const { traces, appFabric } = traceRecorder({ holdFirst: false });
    const batcher = newBatcher(appFabric, { windowMs: 5, maxInFlight: 4 });
    const notSampled = { ...span(1), traceFlags: 0 };
    await Promise.all([
      batcher.loadUserAccessTasks([id(0)], { trace: notSampled }),
      batcher.loadUserAccessTasks([id(1)], { trace: span(2) }),
      batcher.loadUserAccessTasks([id(2)], { trace: { ...span(3), traceFlags: 0 } }),
    ]);
    // All three arrived in one turn, so they share one call: its parent is the sampled one.
    expect(traces).toEqual([{ parent: span(2), links: [] }]);

    traces.length = 0;
    await batcher.loadUserAccessTasks([id(3)], { trace: notSampled });
    expect(traces).toEqual([{ parent: notSampled, links: [] }]);
  });
});
