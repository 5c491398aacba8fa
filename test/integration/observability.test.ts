import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";
import { startService } from "../../src/startService.js";
import { collectLogs } from "../support/collectLogs.js";
import { freePort } from "../support/freePort.js";
import { startHarness, type Harness } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";

/** The value of one sample in Prometheus text, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of metrics.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const present = (match[2] ?? "").split(",");
    if (wanted.every((label) => present.includes(label))) return Number(match[3]);
  }
  return 0;
}

const call = { operation: "BatchGetUserAccessTasks" };
const ids = (count: number) => Array.from({ length: count }, (_, i) => syntheticTaskId(i));

describe("operating the service", () => {
  const logs = collectLogs();
  let harness: Harness;
  const metrics = async () => (await fetch(new URL("/metrics", harness.service.url))).text();

  beforeAll(async () => {
    harness = await startHarness({
      logger: logs.logger,
      emulator: { tasks: [...DEMO_TASKS, ...syntheticTasks(150)] },
      config: { metricsOperationNames: ["Hundred", "Throttled", "Malformed"] },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("moves the metrics as expected over a known sequence of operations", async () => {
    const before = await metrics();
    await harness.query("query Hundred($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", { ids: ids(120) });
    harness.emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException" }, times: 1 });
    await harness.query('query Throttled { userAccessTask(id: "00000000-0000-4000-8000-000000000001") { taskId } }');
    await harness.query('query Malformed { userAccessTask(id: "nope") { taskId } }');
    const after = await metrics();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    // 120 ids: three calls. One id: a 429, then a successful retry. A malformed id: no call.
    expect(delta("appfabric_calls_total", { ...call, status: "200" })).toBe(4);
    expect(delta("appfabric_calls_total", { ...call, status: "429" })).toBe(1);
    expect(delta("appfabric_throttles_total", call)).toBe(1);
    expect(delta("appfabric_retries_total", call)).toBe(1);
    expect(delta("appfabric_batch_size_count", call)).toBe(5);
    expect(delta("appfabric_batch_size_sum", call)).toBe(122);
    expect(delta("appfabric_batch_size_bucket", { ...call, le: "20" })).toBe(3); // the 20-id chunk and both single-id attempts
    expect(delta("appfabric_call_duration_seconds_count", call)).toBe(5);
    expect(sample(after, "appfabric_calls_in_flight", call)).toBe(0);
    expect(delta("graphql_operations_total", { operation_name: "Hundred", outcome: "ok" })).toBe(1);
    expect(delta("graphql_operations_total", { operation_name: "Throttled", outcome: "ok" })).toBe(1);
    expect(delta("graphql_operations_total", { operation_name: "Malformed", outcome: "partial" })).toBe(1);
    expect(delta("graphql_operation_task_ids_sum")).toBe(121);
    expect(after).toContain("process_cpu_user_seconds_total");
  });

  it("writes one line per operation and one per AppFabric call, with the caller's request id", async () => {
    await fetch(harness.service.url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "req-from-router-1" },
      body: JSON.stringify({ query: "query Two($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: ids(2) } }),
    });
    const operation = logs.lines().find((line) => line["msg"] === "operation" && line["requestId"] === "req-from-router-1");
    const upstream = logs
      .lines()
      .filter((line) => line["msg"] === "appfabric call")
      .at(-1);

    expect(operation).toMatchObject({ operationName: "Two", outcome: "ok", errorCodes: [], taskIds: 2, httpStatus: 200 });
    expect(operation?.["durationMs"]).toEqual(expect.any(Number));
    expect(upstream).toMatchObject({ operation: "BatchGetUserAccessTasks", ids: 2, attempt: 1, status: 200, awsRequestId: expect.any(String) });
  });

  it("logs no email, name or user id from a response, nor any credential", async () => {
    const [completed] = DEMO_TASKS;
    harness.emulator.injectFault({
      fault: { kind: "error", status: 400, errorType: "ValidationException", message: "jordan.rivers@example.com is invalid" },
      times: 1,
    });
    harness.emulator.injectFault({
      fault: { kind: "error", status: 403, errorType: "InvalidSignatureException", message: `Credential=${EMULATOR_CREDENTIALS.accessKeyId}/x` },
      times: 1,
    });
    await harness.query("query Denied($id: ID!) { userAccessTask(id: $id) { email } }", { id: completed?.taskId });
    await harness.query("query Failing($id: ID!) { userAccessTask(id: $id) { email } }", { id: completed?.taskId });
    const response = await harness.query("query People($ids: [ID!]!) { userAccessTasks(ids: $ids) { email userId userFullName userFirstName userLastName } }", {
      ids: DEMO_TASKS.map((task) => task.taskId),
    });

    expect(response.text).toContain("jordan.rivers@example.com"); // the caller gets its data…
    for (const secret of [
      "jordan.rivers@example.com",
      "Jordan",
      "Rivers",
      "U01EXAMPLE",
      EMULATOR_CREDENTIALS.accessKeyId,
      EMULATOR_CREDENTIALS.secretAccessKey,
    ]) {
      expect(logs.text()).not.toContain(secret); // …the logs never do
    }
  });

  it("echoes a request id, making one up when the caller's is missing or unsafe", async () => {
    const idOf = async (header?: string) =>
      (await fetch(new URL("/health", harness.service.url), { headers: header === undefined ? {} : { "x-request-id": header } })).headers.get("x-request-id");

    expect(await idOf("abc-123")).toBe("abc-123");
    expect(await idOf()).toMatch(/^[0-9a-f-]{36}$/);
    expect(await idOf("x".repeat(500))).toMatch(/^[0-9a-f-]{36}$/);
    expect(await idOf('a"b')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers /health and /ready", async () => {
    const health = await fetch(new URL("/health", harness.service.url));
    expect(health.status).toBe(200);
    const ready = await fetch(new URL("/ready", harness.service.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true, checks: { credentials: "ok", endpoint: "ok" } });
  });
});

describe("/ready", () => {
  it("fails when the AppFabric endpoint is down, and when credentials cannot be found", async () => {
    const endpoint = new URL(`http://127.0.0.1:${await freePort()}/`);
    const failing = async () => {
      throw new Error("Could not load credentials from any providers");
    };
    const service = await startService(testConfig({ upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint } }), { credentials: failing });
    try {
      const ready = await fetch(new URL("/ready", service.url));
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ ready: false, checks: { credentials: "unavailable", endpoint: "unreachable" } });
      expect((await fetch(new URL("/health", service.url))).status).toBe(200);
    } finally {
      await service.stop();
    }
  });
});
