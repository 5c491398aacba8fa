import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { testConfig } from "../support/testConfig.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const TASKS = "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }";
const ids = (from: number, count: number) => Array.from({ length: count }, (_, n) => syntheticTaskId(from + n));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits (bounded) until `condition` holds. */
async function until(condition: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > limitMs) throw new Error(`Timed out waiting until ${what}`);
    await sleep(20);
  }
}

/** AppFabric call attempts the service has started: those ended plus those under way (from /metrics). */
async function attemptsStarted(h: AttackHarness): Promise<number> {
  const text = (await h.send("/metrics")).text;
  return text
    .split("\n")
    .filter((line) => line.startsWith("appfabric_calls_total{") || line.startsWith("appfabric_calls_in_flight{"))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/**
 * Class 3: work never outlives the callers who asked for it. After every caller has its answer (or
 * has hung up), no AppFabric call starts; queues are bounded and refuse at once past the bound.
 */
describe("abandoned work stops", () => {
  let harness: AttackHarness | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
  });
  const settled = (h: AttackHarness) => h.emulator.calls.every((call) => call.status !== 0);

  /** Asserts that AppFabric sees no new call for a while after everything in flight has ended. */
  async function expectNoMoreCalls(h: AttackHarness, quietMs: number): Promise<number> {
    await until(() => settled(h), "every AppFabric call has ended");
    const count = h.emulator.calls.length;
    await sleep(quietMs);
    expect(h.emulator.calls.length).toBe(count);
    return count;
  }

  it("cancels the AppFabric calls of a client that hangs up, and sends none of its queued ids", async () => {
    harness = await startAttackHarness({
      // Long enough that the hang-up reaches the service while the call is out, however loaded the machine.
      emulator: { latencyMs: 2_000 },
      appFabric: { ...testConfig().appFabric, maxConcurrency: 2 },
    });
    const h = harness;
    const client = new AbortController();
    const request = h.send("/", { ...postInit({ query: TASKS, variables: { ids: ids(0, 500) } }, await h.credentials()), signal: client.signal });
    await until(() => h.emulator.calls.length > 0, "the first call reaches AppFabric");
    client.abort();
    await expect(request).rejects.toThrow();

    const calls = await expectNoMoreCalls(h, 1_000);
    expect(calls).toBeLessThanOrEqual(2); // only what was already in flight: 2 of the 10 calls
    expect(h.emulator.calls.every((call) => call.status === 499)).toBe(true); // …and those were cancelled
  });

  it("treats a caller that ends its side before the answer as gone: nothing runs for it, or its calls are cancelled", async () => {
    harness = await startAttackHarness({ emulator: { latencyMs: 400 } });
    const h = harness;
    const url = h.service.url;
    const credentials = Object.entries(await h.credentials())
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const body = JSON.stringify({ query: TASKS, variables: { ids: ids(0, 100) } });
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => undefined);
    socket.resume();
    socket.end(
      `POST / HTTP/1.1\r\nhost: ${url.host}\r\nx-request-id: half-closed\r\n${credentials}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    await new Promise((resolve) => socket.once("close", resolve));
    // Seen before it runs (refused, nothing run) or while it runs (its line says abandoned).
    const lineOf = () => h.logs.lines().find((line) => line["requestId"] === "half-closed" && Number(line["level"]) >= 30);
    await until(() => lineOf() !== undefined, "the request is logged");
    expect([
      { msg: "request refused", reason: "caller_gone" },
      { msg: "operation", outcome: "abandoned" },
    ]).toContainEqual(expect.objectContaining({ msg: lineOf()?.["msg"] }));
    const line = lineOf();
    if (line?.["msg"] === "operation") expect(line).toMatchObject({ outcome: "abandoned" });
    else expect(line).toMatchObject({ reason: "caller_gone" });
    await expectNoMoreCalls(h, 500);
    expect(h.emulator.calls.every((call) => call.status === 499)).toBe(true);
  });

  it("does not blame the caller for a pipelined request the service dropped when it closed the connection", async () => {
    harness = await startAttackHarness();
    const h = harness;
    const url = h.service.url;
    const credentials = Object.entries(await h.credentials())
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const valid = JSON.stringify({ query: "{ __typename }" });
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => undefined);
    socket.resume();
    socket.write(`POST / HTTP/1.1\r\nhost: ${url.host}\r\n${credentials}content-type: application/json\r\ncontent-length: 9\r\n\r\n{"query":`);
    socket.write(
      `POST / HTTP/1.1\r\nhost: ${url.host}\r\nx-request-id: pipelined\r\n${credentials}content-type: application/json\r\ncontent-length: ${valid.length}\r\n\r\n${valid}`,
    );
    await new Promise((resolve) => socket.once("close", resolve));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const line = h.logs.lines().find((entry) => entry["requestId"] === "pipelined" && Number(entry["level"]) >= 30);
    // Answered, or (when the service closed the connection first) counted as closed by the service.
    if (line?.["msg"] === "request refused") expect(line).toMatchObject({ reason: "connection_closed" });
    expect(h.logs.lines().filter((entry) => entry["reason"] === "caller_gone")).toEqual([]);
  });

  it("answers every caller at its deadline and starts nothing after, under a flood of 500-id operations", async () => {
    harness = await startAttackHarness({
      emulator: { latencyMs: 1_000 },
      // Room in line for all 5,000 ids of this one caller (a caller alone may hold half of it).
      appFabric: { ...testConfig().appFabric, maxQueuedIds: 10_000 },
      config: { limits: { ...testConfig().limits, operationTimeoutMs: 300 } },
    });
    const h = harness;
    const headers = await h.credentials();
    const answers = await Promise.all(
      Array.from(
        { length: 10 },
        async (_, n) =>
          JSON.parse((await h.send("/", postInit({ query: TASKS, variables: { ids: ids(n * 500, 500) } }, headers))).text) as {
            errors: Array<{ extensions: { code: string; retryable: boolean } }>;
          },
      ),
    );
    for (const answer of answers) {
      expect(answer.errors).toHaveLength(500);
      expect(new Set(answer.errors.map((error) => `${error.extensions.code}/${error.extensions.retryable}`))).toEqual(new Set(["UPSTREAM_UNAVAILABLE/false"]));
    }
    // Nothing starts after the last answer. Counted where calls start, in the service: on a loaded
    // machine a call sent just before a deadline can reach the emulator after the answers, and
    // operations that arrive apart free slots for each other, so the emulator's count alone is not
    // the measure. AppFabric then saw no call the service had not started before the answers.
    const startedAtAnswers = await attemptsStarted(h);
    await until(() => settled(h), "every AppFabric call has ended");
    await sleep(1_500);
    expect(await attemptsStarted(h)).toBe(startedAtAnswers);
    expect(h.emulator.calls.length).toBeLessThanOrEqual(startedAtAnswers);
    expect(startedAtAnswers).toBeLessThanOrEqual(100); // each of the 5,000 ids in at most one call of 50
  });

  it("refuses ids past APPFABRIC_MAX_QUEUED_IDS at once with a retryable OVERLOADED, and keeps the rest", async () => {
    harness = await startAttackHarness({
      emulator: { latencyMs: 300 },
      appFabric: { ...testConfig().appFabric, maxConcurrency: 1, maxQueuedIds: 100 },
    });
    const h = harness;
    const answer = JSON.parse((await h.send("/", postInit({ query: TASKS, variables: { ids: ids(0, 500) } }, await h.credentials()))).text) as {
      errors: Array<{ extensions: { code: string; retryable: boolean } }>;
    };
    const overloaded = answer.errors.filter((error) => error.extensions.code === "OVERLOADED");
    // The operation's ten batches of 50 reach the line in one turn, before any call leaves: a caller
    // alone may fill it, so 100 wait and 400 are refused. (Several callers share it:
    // test/unit/CrossOperationBatcher.test.ts.)
    expect(overloaded).toHaveLength(400);
    expect(overloaded.every((error) => error.extensions.retryable)).toBe(true);
    expect(await expectNoMoreCalls(h, 500)).toBe(2);
  });
});
