import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness, type Harness } from "../support/harness.js";

const START = `mutation Start($email: String!) { startUserAccessTasks(email: $email) { app tenantId taskId error { errorCode errorMessage } } }`;
const POLL = `query Poll($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app resultStatus userFullName taskError { errorCode } } }`;
const EMAIL = "casey.morgan@example.com";
type Started = { startUserAccessTasks: Array<{ app: string; taskId: string | null; error: { errorCode: string } | null }> };
type Polled = { userAccessTasks: Array<{ taskId: string; app: string; resultStatus: string; userFullName: string | null }> };

describe("startUserAccessTasks and polling", () => {
  const logs = collectLogs();
  let harness: Harness;
  // The started tasks' clock: the tests move it instead of sleeping, so a slow machine cannot race them.
  let clock = 0;
  const advance = (ms: number) => (clock += ms);
  beforeAll(async () => {
    // Started tasks end 1 to 4 units after they start.
    harness = await startHarness({ logger: logs.logger, emulator: { taskProgressMs: 50, taskClock: () => clock, tasks: DEMO_TASKS } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("starts one task per application and returns them, with the application that could not start", async () => {
    const response = await harness.query<Started>(START, { email: EMAIL });

    expect(response.errors).toBeUndefined();
    const items = response.data?.startUserAccessTasks ?? [];
    expect(items.map((item) => item.app)).toEqual(["Slack", "Okta", "Zoom", "Box", "Asana", "Jira"]);
    expect(items.filter((item) => item.taskId !== null).map((item) => item.taskId)).toEqual(harness.emulator.startedTasks.slice(-5).map((task) => task.taskId));
    expect(items.at(-1)).toMatchObject({ app: "Jira", taskId: null, error: { errorCode: "AppNotConnected" } });
    expect(harness.emulator.calls.map((call) => call.operation)).toEqual(["StartUserAccessTasks"]);
  });

  it("shows real progress when polled: IN_PROGRESS first, then COMPLETED, FAILED or EXPIRED", async () => {
    const started = (await harness.query<Started>(START, { email: EMAIL })).data?.startUserAccessTasks ?? [];
    const ids = started.flatMap((item) => item.taskId ?? []);

    const first = await harness.query<Polled>(POLL, { ids });
    expect(first.data?.userAccessTasks.map((task) => task.resultStatus)).toEqual(["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS"]);

    advance(300);
    const later = await harness.query<Polled>(POLL, { ids });
    expect(later.data?.userAccessTasks.map((task) => [task.app, task.resultStatus])).toEqual([
      ["Slack", "COMPLETED"],
      ["Okta", "COMPLETED"],
      ["Zoom", "COMPLETED"],
      ["Box", "FAILED"],
      ["Asana", "EXPIRED"],
    ]);
    expect(later.data?.userAccessTasks[0]?.userFullName).toBe("Casey Morgan");
  });

  it("lets browsers cache final results briefly and privately, and IN_PROGRESS ones not at all", async () => {
    const ids = ((await harness.query<Started>(START, { email: EMAIL })).data?.startUserAccessTasks ?? []).flatMap((item) => item.taskId ?? []);
    const cacheControl = async () =>
      (
        await fetch(harness.service.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: POLL, variables: { ids } }),
        })
      ).headers.get("cache-control");

    expect(await cacheControl()).toBe("no-store");
    advance(300);
    expect(await cacheControl()).toBe("max-age=30, private");
  });

  it("refuses a malformed email with BAD_USER_INPUT before any call, without echoing it", async () => {
    const response = await harness.query(START, { email: "casey.morgan at example" });

    expect(response.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT" });
    expect(response.text).not.toContain("casey.morgan at example");
    expect(harness.emulator.calls).toEqual([]);
  });

  it.each([
    { fault: { kind: "error" as const, status: 403, errorType: "AccessDeniedException" }, code: "FORBIDDEN", calls: 1 },
    { fault: { kind: "error" as const, status: 500, errorType: "InternalServerException" }, code: "UPSTREAM_ERROR", calls: 1 },
    {
      fault: { kind: "error" as const, status: 400, errorType: "ValidationException", message: `email ${EMAIL} is not valid` },
      code: "BAD_USER_INPUT",
      calls: 1,
    },
  ])("maps $fault.errorType to $code, and does not retry what may have started tasks", async ({ fault, code, calls }) => {
    harness.emulator.injectFault({ fault });
    const response = await harness.query(START, { email: EMAIL });

    expect(response.data).toBeNull();
    expect(response.errors?.[0]?.extensions?.["code"]).toBe(code);
    expect(response.text).not.toContain(EMAIL);
    expect(harness.emulator.calls).toHaveLength(calls);
  });

  it("retries a throttled start, which AWS refused before starting anything", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "0" }, times: 1 });
    const response = await harness.query<Started>(START, { email: EMAIL });

    expect(response.errors).toBeUndefined();
    expect(harness.emulator.calls.map((call) => call.status)).toEqual([429, 201]);
  });

  it("never writes the email, or the names it leads to, into the logs", async () => {
    const ids = ((await harness.query<Started>(START, { email: EMAIL })).data?.startUserAccessTasks ?? []).flatMap((item) => item.taskId ?? []);
    advance(300);
    await harness.query(POLL, { ids });

    expect(logs.lines().some((line) => line["operation"] === "StartUserAccessTasks")).toBe(true);
    for (const secret of [EMAIL, "casey", "Casey", "Morgan"]) expect(logs.text()).not.toContain(secret);
  });

  it("answers automatic persisted queries: the hash alone once the query is known", async () => {
    const sha256Hash = createHash("sha256").update(POLL).digest("hex");
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const ask = async (body: object) => {
      const response = await fetch(harness.service.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return (await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> };
    };
    const variables = { ids: [DEMO_TASKS[0]?.taskId] };

    expect((await ask({ extensions, variables })).errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect((await ask({ query: POLL, extensions, variables })).data).toBeDefined();
    expect((await ask({ extensions, variables })).data).toMatchObject({ userAccessTasks: [{ app: "Slack" }] });
  });
});
