import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Fault } from "../../src/emulator/AppFabricEmulator.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { startHarness, type Harness } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";

const ONE = `query($id: ID!) { userAccessTask(id: $id) { taskId } }`;
const ID = syntheticTaskId(7);
const error = (status: number, errorType?: string, retryAfter?: string): Fault => ({ kind: "error", status, errorType, retryAfter });

interface Row {
  fault: string;
  inject: { fault: Fault; times?: number };
  /** The code the client sees, or "data" for an answer. */
  outcome: string;
  /** What the emulator answered, attempt by attempt (0: it dropped the connection; 499: the client gave up first). */
  statuses: number[];
}

/**
 * Every fault the emulator can inject, with the default retry policy (3 attempts) and a 300 ms
 * per-attempt timeout: what the client gets, and what AppFabric saw.
 */
const MATRIX: Row[] = [
  { fault: "two 429s, then success", inject: { fault: error(429, "ThrottlingException", "0"), times: 2 }, outcome: "data", statuses: [429, 429, 200] },
  { fault: "429 on every attempt", inject: { fault: error(429, "ThrottlingException", "1") }, outcome: "THROTTLED", statuses: [429, 429, 429] },
  { fault: "one 500, then success", inject: { fault: error(500, "InternalServerException"), times: 1 }, outcome: "data", statuses: [500, 200] },
  { fault: "503 on every attempt", inject: { fault: error(503) }, outcome: "UPSTREAM_ERROR", statuses: [503, 503, 503] },
  { fault: "latency past the timeout, once", inject: { fault: { kind: "delay", ms: 1_000 }, times: 1 }, outcome: "data", statuses: [499, 200] },
  { fault: "connection reset, once", inject: { fault: { kind: "reset" }, times: 1 }, outcome: "data", statuses: [0, 200] },
  { fault: "truncated body, once", inject: { fault: { kind: "truncated" }, times: 1 }, outcome: "data", statuses: [200, 200] },
  { fault: "slow body past the timeout, once", inject: { fault: { kind: "slowBody", ms: 1_000 }, times: 1 }, outcome: "data", statuses: [200, 200] },
  {
    fault: "malformed JSON (not retried: it would not parse again)",
    inject: { fault: { kind: "malformed" } },
    outcome: "UPSTREAM_UNAVAILABLE",
    statuses: [200],
  },
  { fault: "400 ValidationException (final)", inject: { fault: error(400, "ValidationException") }, outcome: "BAD_USER_INPUT", statuses: [400] },
  { fault: "403 AccessDeniedException (final)", inject: { fault: error(403, "AccessDeniedException") }, outcome: "FORBIDDEN", statuses: [403] },
];

describe("the fault matrix", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ appFabric: { timeoutMs: 300 } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it.each(MATRIX)("$fault → $outcome, AppFabric saw $statuses", async ({ inject, outcome, statuses }) => {
    harness.emulator.injectFault(inject);
    const response = await harness.query<{ userAccessTask: { taskId: string } | null }>(ONE, { id: ID });

    if (outcome === "data") {
      expect(response.errors).toBeUndefined();
      expect(response.data?.userAccessTask?.taskId).toBe(ID);
    } else {
      expect(response.data?.userAccessTask).toBeNull();
      expect(response.errors?.[0]?.extensions?.["code"]).toBe(outcome);
    }
    expect(harness.emulator.calls.map((call) => call.status)).toEqual(statuses);

    harness.emulator.reset();
    const after = await harness.query(ONE, { id: ID });
    expect(after.data).toEqual({ userAccessTask: { taskId: ID } });
  });
});

describe("the operation deadline", () => {
  it("answers within OPERATION_TIMEOUT_MS however slow AppFabric is, and sends nothing more for the operation", async () => {
    const harness = await startHarness({ config: { limits: { ...testConfig().limits, operationTimeoutMs: 400 } } });
    try {
      harness.emulator.injectFault({ fault: { kind: "delay", ms: 3_000 } });
      const response = await harness.query(ONE, { id: ID });

      // Answered by the deadline, not by AppFabric: the one attempt was cancelled (499) before its 3 s passed.
      for (let waited = 0; harness.emulator.calls[0]?.status === 0 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(harness.emulator.calls[0]?.status).toBe(499);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE" });
      expect(response.errors?.[0]?.message).toContain("deadline");
      expect(harness.emulator.calls).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });
});
