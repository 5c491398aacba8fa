import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { errorAt, startHarness, TASK_COUNT, type Harness } from "../support/harness.js";

const ids = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => syntheticTaskId(from + i));
const TASKS = `query Tasks($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }`;

type TasksData = { userAccessTasks: Array<{ taskId: string; resultStatus: string } | null> };

describe("batching over real HTTP", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("coalesces 120 ids into three calls of 50, 50 and 20", async () => {
    const asked = ids(0, 120);
    const response = await harness.query<TasksData>(TASKS, { ids: asked });

    expect(response.errors).toBeUndefined();
    expect(response.data?.userAccessTasks.map((task) => task?.taskId)).toEqual(asked);
    const sizes = harness.emulator.calls.map((call) => call.taskIdList.length).sort((a, b) => b - a);
    expect(sizes).toEqual([50, 50, 20]);
    expect(new Set(harness.emulator.calls.flatMap((call) => call.taskIdList))).toEqual(new Set(asked));
  });

  it("collapses duplicates and upper-case spellings of an id into one slot of one call", async () => {
    const [a = "", b = ""] = ids(0, 2);
    const response = await harness.query<TasksData>(TASKS, { ids: [a, a.toUpperCase(), b, a, b.toUpperCase()] });

    expect(response.errors).toBeUndefined();
    expect(response.data?.userAccessTasks.map((task) => task?.taskId)).toEqual([a, a, b, a, b]);
    expect(harness.emulator.calls.map((call) => call.taskIdList.sort())).toEqual([[a, b].sort()]);
  });

  it("shares one call between aliases of both root fields", async () => {
    const [a = "", b = "", c = ""] = ids(10, 13);
    const response = await harness.query(
      `query($a: ID!, $b: ID!, $list: [ID!]!) {
        first: userAccessTask(id: $a) { taskId }
        second: userAccessTask(id: $b) { taskId }
        list: userAccessTasks(ids: $list) { taskId }
        again: userAccessTasks(ids: [$a]) { app }
      }`,
      { a, b, list: [c, a] },
    );

    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      first: { taskId: a },
      second: { taskId: b },
      list: [{ taskId: c }, { taskId: a }],
      again: [{ app: "App 10" }],
    });
    expect(harness.emulator.calls).toHaveLength(1);
    expect(harness.emulator.calls[0]?.taskIdList.sort()).toEqual([a, b, c].sort());
  });

  it("coalesces 120 distinct ids spread over aliases into ceil(120 / 50) calls", async () => {
    const response = await harness.query(
      `query($x: [ID!]!, $y: [ID!]!, $z: ID!) { x: userAccessTasks(ids: $x) { taskId } y: userAccessTasks(ids: $y) { taskId } z: userAccessTask(id: $z) { taskId } }`,
      { x: ids(0, 70), y: ids(60, 119), z: syntheticTaskId(119) },
    );

    expect(response.errors).toBeUndefined();
    expect(harness.emulator.calls.map((call) => call.taskIdList.length).sort((a, b) => b - a)).toEqual([50, 50, 20]);
  });

  it("keeps the order asked although AppFabric answers in shuffled order", async () => {
    const asked = ids(0, 50).reverse();
    const response = await harness.query<TasksData>(TASKS, { ids: asked });

    expect(response.data?.userAccessTasks.map((task) => task?.taskId)).toEqual(asked);
  });

  it("answers an empty list with [] and calls nothing", async () => {
    const response = await harness.query<TasksData>(TASKS, { ids: [] });

    expect(response.data).toEqual({ userAccessTasks: [] });
    expect(harness.emulator.calls).toEqual([]);
  });

  it("answers an id AppFabric does not return with null and NOT_FOUND at its path; the rest answer", async () => {
    const unknown = syntheticTaskId(TASK_COUNT + 7);
    const [a = "", b = ""] = ids(0, 2);
    const response = await harness.query<TasksData>(TASKS, { ids: [a, unknown, b] });

    expect(response.data?.userAccessTasks.map((task) => task?.taskId ?? null)).toEqual([a, null, b]);
    expect(response.errors).toHaveLength(1);
    expect(errorAt(response, "userAccessTasks", 1)?.extensions).toEqual({ code: "NOT_FOUND", retryable: false });
    expect(errorAt(response, "userAccessTasks", 1)?.message).toContain(unknown);
  });

  it("answers a malformed id with null and BAD_USER_INPUT at its path, and never sends it", async () => {
    const [a = ""] = ids(0, 1);
    const response = await harness.query<TasksData>(
      `query($ids: [ID!]!, $one: ID!) { userAccessTasks(ids: $ids) { taskId } single: userAccessTask(id: $one) { taskId } }`,
      { ids: ["not-a-uuid", a, "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a2z"], one: "jordan@example.com" },
    );

    expect(response.data).toEqual({ userAccessTasks: [null, { taskId: a }, null], single: null });
    for (const path of [["userAccessTasks", 0], ["userAccessTasks", 2], ["single"]]) {
      expect(errorAt(response, ...path)?.extensions).toEqual({ code: "BAD_USER_INPUT", retryable: false });
    }
    expect(response.text).not.toContain("jordan@example.com");
    expect(harness.emulator.calls.map((call) => call.taskIdList)).toEqual([[a]]);
  });

  it("fails only the ids of a failed call; the other calls still answer", async () => {
    const asked = ids(0, 120);
    const poisoned = syntheticTaskId(75);
    harness.emulator.injectFault({
      fault: { kind: "error", status: 500, errorType: "InternalServerException" },
      when: (call) => call.taskIdList.includes(poisoned),
    });
    const response = await harness.query<TasksData>(TASKS, { ids: asked });

    // The poisoned chunk is tried three times (AWS SDK standard retries), the others once.
    const failedCall = harness.emulator.calls.find((call) => call.status === 500);
    expect(harness.emulator.calls.map((call) => call.status).sort()).toEqual([200, 200, 500, 500, 500]);
    const failedIds = new Set(failedCall?.taskIdList);
    expect(failedIds.size).toBe(50);
    response.data?.userAccessTasks.forEach((task, index) => {
      const id = asked[index] ?? "";
      if (failedIds.has(id)) {
        expect(task).toBeNull();
        expect(errorAt(response, "userAccessTasks", index)?.extensions?.["code"]).toBe("UPSTREAM_ERROR");
      } else {
        expect(task?.taskId).toBe(id);
      }
    });
    expect(response.errors).toHaveLength(50);
  });

  it("returns a FAILED task's taskError as data, not as a GraphQL error", async () => {
    const failed = syntheticTaskId(2); // synthetic statuses cycle COMPLETED, IN_PROGRESS, FAILED, EXPIRED
    const response = await harness.query(`query($id: ID!) { userAccessTask(id: $id) { resultStatus taskError { errorCode errorMessage } } }`, { id: failed });

    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      userAccessTask: { resultStatus: "FAILED", taskError: { errorCode: "AppError", errorMessage: "App 2 reported an error." } },
    });
  });

  it("resolves entity references through the same loader, in one call", async () => {
    const [a = "", b = ""] = ids(0, 2);
    const response = await harness.query(
      `query($representations: [_Any!]!) { _entities(representations: $representations) { ... on UserAccessTask { taskId app } } }`,
      { representations: [a, b, a.toUpperCase()].map((taskId) => ({ __typename: "UserAccessTask", taskId })) },
    );

    expect(response.errors).toBeUndefined();
    expect(response.data).toEqual({
      _entities: [
        { taskId: a, app: "App 0" },
        { taskId: b, app: "App 1" },
        { taskId: a, app: "App 0" },
      ],
    });
    expect(harness.emulator.calls).toHaveLength(1);
  });
});

describe("batching across concurrent operations", () => {
  const concurrentSingleIdOperations = async (harness: Harness) => {
    const asked = ids(0, 50);
    const responses = await Promise.all(
      asked.map((id) => harness.query<{ userAccessTask: { taskId: string } }>(`query($id: ID!) { userAccessTask(id: $id) { taskId } }`, { id })),
    );
    expect(responses.map((response) => response.data?.userAccessTask.taskId)).toEqual(asked);
    return harness.emulator.calls;
  };

  it("shares calls between 50 concurrent operations when coalescing is on (the default)", async () => {
    // At most 4 calls go out before the first answers (200 ms later); every other id gathers
    // meanwhile and leaves in the next call: 5 calls at most, however the requests arrive.
    const harness = await startHarness({ emulator: { latencyMs: 200 }, appFabric: { maxConcurrency: 4 } });
    try {
      const calls = await concurrentSingleIdOperations(harness);
      expect(calls.length).toBeLessThanOrEqual(5);
      expect(calls.every((call) => call.taskIdList.length <= 50)).toBe(true);
      expect(calls.flatMap((call) => call.taskIdList).sort()).toEqual(ids(0, 50).sort());
    } finally {
      await harness.close();
    }
  });

  it("sends one call per operation with APPFABRIC_COALESCE_MS=0", async () => {
    const harness = await startHarness({ emulator: { latencyMs: 20 }, appFabric: { coalesceMs: 0 } });
    try {
      expect(await concurrentSingleIdOperations(harness)).toHaveLength(50);
    } finally {
      await harness.close();
    }
  });
});
