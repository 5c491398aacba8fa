import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CallerBudgets } from "../../src/callers/CallerBudgets.js";
import { Metrics } from "../../src/observability/Metrics.js";

/** rate-limiter-flexible's memory limiter reads Date.now: the fake clock moves its windows by hand. */
describe("CallerBudgets (one replica, no Redis)", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(Date.parse("2026-12-02T12:00:00.000Z"));
  });
  afterEach(() => vi.useRealTimers());

  const budgets = () => new CallerBudgets({ settings: { taskIdsPerSecond: 100, startsPerMinute: 2, persistedBytesPerMinute: 4_096 }, observer: new Metrics() });

  it("lets a caller send its task ids per second, refuses the rest with the time left, and starts again with the next second", async () => {
    const caller = budgets();
    await caller.takeTaskIds("a", 50);
    await caller.takeTaskIds("a", 50);
    expect(caller.taskIdsBlockedForMs("a")).toBe(0);
    vi.advanceTimersByTime(400);
    await expect(caller.takeTaskIds("a", 1)).rejects.toMatchObject({ name: "RateLimitedError", reason: "task_ids", retryAfterSeconds: 1 });
    // Known to be over budget until its window ends: operations are then refused whole, before running.
    expect(caller.taskIdsBlockedForMs("a")).toBe(600);
    // Another caller has a budget of its own.
    await caller.takeTaskIds("b", 50);
    vi.advanceTimersByTime(600);
    expect(caller.taskIdsBlockedForMs("a")).toBe(0);
    await caller.takeTaskIds("a", 50);
  });

  it("lets a caller start twice a minute, and says when the third may go", async () => {
    const caller = budgets();
    await caller.takeStart("a");
    vi.advanceTimersByTime(15_000);
    await caller.takeStart("a");
    await expect(caller.takeStart("a")).rejects.toMatchObject({ reason: "starts", retryAfterSeconds: 45 });
    vi.advanceTimersByTime(45_000);
    await caller.takeStart("a");
  });
});
