import { afterEach, describe, expect, it } from "vitest";
import { AppFabricEmulator } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { startService, type RunningService } from "../../src/startService.js";
import { collectLogs } from "../support/collectLogs.js";
import { postGraphQL } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";

const TEN_MINUTES_MS = 10 * 60_000;
const READ = "query One($id: ID!) { userAccessTask(id: $id) { taskId resultStatus } }";
const START = "mutation Start($email: String!) { startUserAccessTasks(email: $email) { app taskId } }";
const TASK_ID = DEMO_TASKS[0]?.taskId ?? "";

/**
 * A host clock 10 minutes off AppFabric's (here: the emulator's clock moved, its `Date` header with
 * it). AWS SDKs read the refusal's `Date`, correct their offset and try once more; so does this service.
 */
describe("a host clock 10 minutes off AppFabric's", () => {
  let emulator: AppFabricEmulator | undefined;
  let service: RunningService | undefined;
  afterEach(async () => {
    await service?.stop();
    await emulator?.close();
  });

  async function startSkewed(offsetMs: number, env: Record<string, string> = {}) {
    emulator = await AppFabricEmulator.start({ now: () => Date.now() + offsetMs });
    const logs = collectLogs("info");
    service = await startService(
      { ...testConfig({}, env), upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint: emulator.url } },
      { credentials: EMULATOR_CREDENTIALS, logger: logs.logger },
    );
    return { logs, emulator, url: service.url };
  }

  for (const offsetMs of [TEN_MINUTES_MS, -TEN_MINUTES_MS]) {
    it(`${offsetMs > 0 ? "behind" : "ahead"}: the first call is refused ("Signature expired" or "not yet current"), the second, on AppFabric's time, answers; one warning gives the offset`, async () => {
      const { logs, emulator, url } = await startSkewed(offsetMs);
      const answer = await postGraphQL<{ userAccessTask: { taskId: string } | null }>(url, READ, { id: TASK_ID });
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.userAccessTask?.taskId).toBe(TASK_ID);
      expect(emulator.calls.map((call) => call.status)).toEqual([403, 200]);
      // Corrected for good: the next calls, a start included, are signed right the first time.
      const started = await postGraphQL<{ startUserAccessTasks: unknown[] }>(url, START, { email: "jordan.rivers@example.com" });
      expect(started.errors).toBeUndefined();
      expect(emulator.calls.map((call) => call.status)).toEqual([403, 200, 201]);
      const warnings = logs.lines().filter((line) => line["clockOffsetSeconds"] !== undefined);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.["level"]).toBe(40);
      expect(Math.abs((warnings[0]?.["clockOffsetSeconds"] as number) - offsetMs / 1000)).toBeLessThanOrEqual(5);
      // Nothing at error: the refusal was corrected, not the operator's to act on twice.
      expect(logs.lines().filter((line) => (line["level"] as number) >= 50)).toEqual([]);
    });
  }

  it("a start refused for the clock is sent once more (AWS started nothing), and succeeds", async () => {
    const { emulator, url } = await startSkewed(TEN_MINUTES_MS);
    const started = await postGraphQL<{ startUserAccessTasks: Array<{ taskId: string | null }> }>(url, START, { email: "jordan.rivers@example.com" });
    expect(started.errors).toBeUndefined();
    expect(emulator.calls.map((call) => [call.operation, call.status])).toEqual([
      ["StartUserAccessTasks", 403],
      ["StartUserAccessTasks", 201],
    ]);
    // One lookup started, not two: every task the emulator started is one the answer lists.
    const listed = (started.data?.startUserAccessTasks ?? []).flatMap((task) => (task.taskId === null ? [] : [task.taskId]));
    expect(listed.length).toBeGreaterThan(0);
    expect(emulator.startedTasks.map((task) => task.taskId).sort()).toEqual(listed.sort());
  });

  it("a signature AppFabric refuses for another reason (a wrong secret) is this service's fault: UPSTREAM_ERROR, logged at error, not retried", async () => {
    emulator = await AppFabricEmulator.start();
    const logs = collectLogs("info");
    service = await startService(
      { ...testConfig(), upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint: emulator.url } },
      { credentials: { ...EMULATOR_CREDENTIALS, secretAccessKey: "wrong-secret-0000000000000000000000000000" }, logger: logs.logger },
    );
    const answer = await postGraphQL(service.url, READ, { id: TASK_ID });
    expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_ERROR", retryable: false, aws: { errorType: "InvalidSignatureException" } });
    expect(emulator.calls.map((call) => call.status)).toEqual([403]);
    const errors = logs.lines().filter((line) => (line["level"] as number) >= 50);
    expect(errors.map((line) => [line["msg"], line["errorType"]])).toEqual([["appfabric call", "InvalidSignatureException"]]);
  });
});
