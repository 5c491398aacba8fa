import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness, type Harness } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";
import { disposeAll, metric, watch, WATCH, wsClient, type TestClient } from "../support/subscriptions.js";

const INTERVAL_MS = 100;
const EMAIL = "watcher.test@example.com";
const FINAL = ["COMPLETED", "FAILED", "EXPIRED"];

interface TaskView {
  taskId: string;
  resultStatus: string;
}
const listOf = (event: { data?: unknown } | undefined) =>
  (event?.data as { userAccessTasksUpdated: Array<TaskView | null> } | undefined)?.userAccessTasksUpdated;

/**
 * Subscriptions over real WebSockets against the emulator, whose started tasks move only when the
 * test moves their clock; the watcher polls every 100 ms of real time, and the tests wait for what
 * they expect (polls counted at /metrics), never for a time.
 */
describe("userAccessTasksUpdated over WebSocket", () => {
  let harness: Harness;
  let clock = 0;
  const logs = collectLogs("info");
  const clients: TestClient[] = [];
  const batchGets = () => harness.emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks");
  const polls = () => metric(harness.service.url, "watcher_polls_total");
  const connect = () => {
    const client = wsClient(harness.service.url);
    clients.push(client);
    return client.client;
  };
  const startTasks = async () => {
    const answer = await harness.query<{ startUserAccessTasks: Array<{ taskId: string | null }> }>(
      `mutation { startUserAccessTasks(email: "${EMAIL}") { taskId } }`,
    );
    const ids = answer.data?.startUserAccessTasks.flatMap((item) => item.taskId ?? []) ?? [];
    expect(ids.length).toBeGreaterThan(1);
    return ids;
  };

  beforeAll(async () => {
    harness = await startHarness({
      emulator: { tasks: DEMO_TASKS, taskClock: () => clock, taskProgressMs: 1_000 },
      config: { subscriptions: { ...testConfig().subscriptions, watchIntervalMs: INTERVAL_MS } },
      logger: logs.logger,
    });
  });
  afterEach(async () => {
    await disposeAll(clients.splice(0));
    await vi.waitFor(async () => expect(await metric(harness.service.url, "watcher_task_ids")).toBe(0));
  });
  afterAll(() => harness.close());

  it("sends the current state at once, then only changes, and completes when every task is final", async () => {
    const ids = await startTasks();
    harness.emulator.calls.length = 0;
    const subscription = watch(connect(), WATCH, { ids });
    await vi.waitFor(() => expect(subscription.events).toHaveLength(1));
    expect(listOf(subscription.events[0])?.map((task) => task?.resultStatus)).toEqual(ids.map(() => "IN_PROGRESS"));

    // Polls come and go; nothing changes, so nothing is sent.
    const pollsBefore = await polls();
    await vi.waitFor(async () => expect(await polls()).toBeGreaterThanOrEqual(pollsBefore + 3));
    expect(subscription.events).toHaveLength(1);

    clock += 10_000; // every started task ends within 4 units
    expect(await subscription.ended).toEqual({ kind: "complete" });
    const last = listOf(subscription.events.at(-1));
    expect(last?.map((task) => task?.taskId)).toEqual(ids);
    expect(last?.every((task) => FINAL.includes(task?.resultStatus ?? ""))).toBe(true);
    expect(subscription.events).toHaveLength(2);
    // Every call carried every watched id; one to answer the subscriber, then one per poll.
    expect(batchGets().every((call) => call.taskIdList.length === ids.length)).toBe(true);
    expect(batchGets()).toHaveLength((await polls()) - pollsBefore + 1);
  });

  it("polls once per interval for every subscriber: 20 connections watching the same tasks cost what one does", async () => {
    const ids = await startTasks();
    harness.emulator.calls.length = 0;
    const pollsBefore = await polls();
    const subscriptions = Array.from({ length: 20 }, () => watch(connect(), WATCH, { ids }));
    await vi.waitFor(() => expect(subscriptions.every((subscription) => subscription.events.length === 1)).toBe(true));
    await vi.waitFor(async () => expect(await polls()).toBeGreaterThanOrEqual(pollsBefore + 3));
    clock += 10_000;
    const ends = await Promise.all(subscriptions.map((subscription) => subscription.ended));
    expect(ends.every((end) => end.kind === "complete")).toBe(true);
    expect(batchGets()).toHaveLength((await polls()) - pollsBefore + 1);
    expect(await metric(harness.service.url, "graphql_subscriptions_active")).toBe(0);
  });

  it("answers each position exactly as the userAccessTasks query does: order, duplicates, malformed and unknown ids", async () => {
    const [completed, failed] = DEMO_TASKS.flatMap((task) => (task.resultStatus === "COMPLETED" || task.resultStatus === "FAILED" ? [task.taskId ?? ""] : []));
    const ids = [failed, "not-a-task-id", completed?.toUpperCase(), "00000000-0000-4000-8000-00000000dead", failed];
    const selection = "taskId app resultStatus userStatus taskError { errorCode errorMessage }";
    // Laid out so that the field starts at the same column in both documents (errors carry locations).
    const query = await harness.query(`query        ($ids: [ID!]!) { userAccessTasksUpdated: userAccessTasks(ids: $ids) { ${selection} } }`, { ids });
    const subscription = watch(connect(), `subscription ($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { ${selection} } }`, { ids });
    expect(await subscription.ended).toEqual({ kind: "complete" }); // nothing there can change
    expect(subscription.events).toHaveLength(1);
    expect(subscription.events[0]).toEqual({ data: query.data, errors: query.errors });
    expect(query.errors?.map((error) => error.extensions?.["code"])).toEqual(["BAD_USER_INPUT", "NOT_FOUND"]);
  });

  it("stops asking AppFabric as soon as the last subscriber of a task has gone", async () => {
    const ids = await startTasks();
    const subscriptions = [connect(), connect(), connect()].map((client) => watch(client, WATCH, { ids }));
    const pollsBefore = await polls();
    await vi.waitFor(async () => expect(await polls()).toBeGreaterThanOrEqual(pollsBefore + 2));
    subscriptions[0]?.stop();
    await disposeAll(clients.slice(1)); // hung up, not completed
    await vi.waitFor(async () => expect(await metric(harness.service.url, "watcher_task_ids")).toBe(0));
    const calls = batchGets().length;
    const pollsAfter = await polls();
    // Nothing is watched, so nothing more may reach AppFabric: wait well past a few intervals, then look.
    await new Promise((resolve) => setTimeout(resolve, 5 * INTERVAL_MS));
    expect(batchGets()).toHaveLength(calls);
    expect(await polls()).toBe(pollsAfter);
    const ended = logs.lines().filter((line) => line["msg"] === "subscription ended");
    expect(
      ended
        .slice(-3)
        .map((line) => line["outcome"])
        .sort(),
    ).toEqual(["cancelled", "closed", "closed"]);
  });

  it("logs one line when a subscription starts and one when it ends, with no task id or email", async () => {
    const ids = await startTasks();
    clock += 10_000;
    const subscription = watch(connect(), WATCH, { ids }, "Watch");
    expect(await subscription.ended).toEqual({ kind: "complete" });
    const lines = logs.lines().filter((line) => String(line["msg"]).startsWith("subscription"));
    expect(lines.at(-2)).toMatchObject({ msg: "subscription started", operationName: "Watch" });
    expect(lines.at(-1)).toMatchObject({ msg: "subscription ended", operationName: "Watch", outcome: "completed", events: 1, taskIds: ids.length });
    expect(lines.at(-1)?.["durationMs"]).toEqual(expect.any(Number));
    const text = logs.text();
    expect(ids.some((id) => text.includes(id))).toBe(false);
    expect(text).not.toContain(EMAIL);
    expect(logs.lines().filter((line) => Number(line["level"]) >= 40)).toEqual([]);
  });
});
