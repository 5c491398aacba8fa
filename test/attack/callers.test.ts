import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { disposeAll, metric, watch, withHandshakeHeaders, wsClient, type TestClient } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";
import { PERSONAL_TASK_ID, postInit, ROUTER_SECRET, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const SCOPES = { read: "tasks:read", start: "tasks:start" };
const READ = "query($id: ID!) { userAccessTask(id: $id) { taskId email } }";
const READ_MANY = "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }";
const START = "mutation($email: String!) { startUserAccessTasks(email: $email) { app taskId } }";
const ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId app } } }";
const WATCH = "subscription($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId resultStatus } }";
const EMAIL = "jordan.rivers@example.com";

interface Answer {
  status: number;
  headers: Headers;
  data?: Record<string, unknown> | null;
  errors?: Array<{ message: string; path?: Array<string | number>; extensions: Record<string, unknown> }>;
}

/**
 * Callers (README "Callers"): a caller identity from the JWT's iss + sub; scopes per action, enforced
 * here and told to routers in the SDL; budgets per caller; on the production build with the router
 * secret and JWT checks on.
 */
describe("who may do what: AUTH_SCOPE_READ and AUTH_SCOPE_START", () => {
  let harness: AttackHarness;
  beforeAll(async () => {
    harness = await startAttackHarness({ scopes: SCOPES });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const ask = async (body: unknown, claims: Record<string, unknown>): Promise<Answer> => {
    const headers = { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token(claims)}` };
    const response = await harness.send("/", postInit(body, headers));
    return { status: response.status, headers: response.headers, ...(JSON.parse(response.text) as Omit<Answer, "status" | "headers">) };
  };
  const calls = (operation: "BatchGetUserAccessTasks" | "StartUserAccessTasks") => harness.emulator.calls.filter((call) => call.operation === operation).length;

  it.each([
    { what: "no scope at all", claims: {} },
    { what: "only the start scope", claims: { scope: "tasks:start" } },
    { what: "a scope that merely contains the name", claims: { scope: "tasks:read-only other:tasks:read" } },
    { what: "the scope in another claim", claims: { scopes: "tasks:read", roles: ["tasks:read"] } },
  ])("answers a read by a token with $what with null and FORBIDDEN naming tasks:read, asking AppFabric nothing", async ({ claims }) => {
    const answer = await ask({ query: READ, variables: { id: PERSONAL_TASK_ID } }, claims);
    expect(answer.status).toBe(200);
    expect(answer.data).toEqual({ userAccessTask: null });
    expect(answer.errors).toEqual([
      expect.objectContaining({
        path: ["userAccessTask"],
        extensions: expect.objectContaining({ code: "FORBIDDEN", requiredScope: "tasks:read", retryable: false }),
      }),
    ]);
    expect(answer.errors?.[0]?.message).toContain('needs the scope "tasks:read"');
    expect(JSON.stringify(answer)).not.toMatch(/jordan|rivers/i);
    expect(calls("BatchGetUserAccessTasks")).toBe(0);
  });

  it("starts nothing for a token meant for reading, whatever the email: FORBIDDEN naming tasks:start, mayHaveStarted false", async () => {
    for (const email of [EMAIL, "not an email"]) {
      const answer = await ask({ query: START, variables: { email } }, { scope: "tasks:read" });
      expect(answer.data).toBeNull();
      expect(answer.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", requiredScope: "tasks:start", mayHaveStarted: false });
    }
    expect(calls("StartUserAccessTasks")).toBe(0);
  });

  it("lets a start-only token start, and not read what it started", async () => {
    const started = await ask({ query: START, variables: { email: EMAIL } }, { scope: "tasks:start" });
    expect(started.errors).toBeUndefined();
    const taskId = (started.data?.["startUserAccessTasks"] as Array<{ taskId: string }>)[0]?.taskId;
    expect(calls("StartUserAccessTasks")).toBe(1);
    const read = await ask({ query: READ, variables: { id: taskId } }, { scope: "tasks:start" });
    expect(read.errors?.[0]?.extensions["code"]).toBe("FORBIDDEN");
    expect(calls("BatchGetUserAccessTasks")).toBe(0);
  });

  it.each([
    { what: "scope (space-separated)", claims: { scope: "openid tasks:read tasks:start" } },
    { what: "scp (an array, as Okta writes it)", claims: { scp: ["tasks:read", "tasks:start"] } },
    { what: "scp (a string, as Entra ID writes it)", claims: { scp: "tasks:start tasks:read" } },
  ])("reads and starts with both scopes in $what", async ({ claims }) => {
    const read = await ask({ query: READ, variables: { id: PERSONAL_TASK_ID } }, claims);
    expect(read.errors).toBeUndefined();
    expect(read.data?.["userAccessTask"]).toMatchObject({ taskId: PERSONAL_TASK_ID });
    const started = await ask({ query: START, variables: { email: EMAIL } }, claims);
    expect(started.errors).toBeUndefined();
    expect(calls("StartUserAccessTasks")).toBe(1);
  });

  it("answers each _entities reference with null and FORBIDDEN without the read scope, and resolves them with it", async () => {
    const representations = [PERSONAL_TASK_ID, syntheticTaskId(1)].map((taskId) => ({ __typename: "UserAccessTask", taskId }));
    const refused = await ask({ query: ENTITIES, variables: { r: representations } }, { scope: "tasks:start" });
    expect(refused.data).toEqual({ _entities: [null, null] });
    expect(refused.errors?.map((error) => [error.path, error.extensions["code"]])).toEqual([
      [["_entities", 0], "FORBIDDEN"],
      [["_entities", 1], "FORBIDDEN"],
    ]);
    expect(calls("BatchGetUserAccessTasks")).toBe(0);
    const allowed = await ask({ query: ENTITIES, variables: { r: representations } }, { scope: "tasks:read" });
    expect(allowed.errors).toBeUndefined();
    expect(calls("BatchGetUserAccessTasks")).toBe(1);
  });

  it("refuses the subscription without the read scope, watching and asking nothing", async () => {
    const clients: TestClient[] = [];
    const open = async (scope: string) => {
      const client = wsClient(harness.service.url, {
        webSocketImpl: withHandshakeHeaders({ "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token({ scope })}` }),
      });
      clients.push(client);
      return client.client;
    };
    const refused = watch(await open("tasks:start"), WATCH, { ids: [PERSONAL_TASK_ID] });
    await refused.ended;
    expect(refused.events[0]?.errors?.[0]?.extensions).toMatchObject({ code: "FORBIDDEN", requiredScope: "tasks:read" });
    expect(await metric(harness.service.url, "watcher_task_ids")).toBe(0);
    expect(calls("BatchGetUserAccessTasks")).toBe(0);
    const allowed = watch(await open("tasks:read"), WATCH, { ids: [PERSONAL_TASK_ID] });
    expect(await allowed.ended).toEqual({ kind: "complete" });
    expect(allowed.events[0]?.errors).toBeUndefined();
    await disposeAll(clients);
  });

  it("tells routers the same in its SDL: @authenticated and @requiresScopes on UserAccessTask and on the start", async () => {
    const answer = await ask({ query: "{ _service { sdl } }" }, {});
    const sdl = (answer.data?.["_service"] as { sdl: string }).sdl;
    expect(sdl).toMatch(/import: \[[^\]]*"@authenticated", "@requiresScopes"\]/);
    expect(sdl).toMatch(/type UserAccessTask\s+@key\(fields: "taskId"\)\s+@authenticated\s+@requiresScopes\(scopes: \[\["tasks:read"\]\]\)/);
    expect(sdl).toMatch(/startUserAccessTasks\([\s\S]*?\): \[UserAccessTaskItem!\]!\s+@authenticated\s+@requiresScopes\(scopes: \[\["tasks:start"\]\]\)/);
  });

  it.each([
    { what: "a number", sub: 12345 },
    { what: "null", sub: null },
    { what: "a list", sub: ["caller-1"] },
    { what: "an object", sub: { a: 1 } },
    { what: "true", sub: true },
    { what: "an empty string", sub: "" },
  ])("refuses a token whose sub is $what (401): two spellings must never be one caller", async ({ sub }) => {
    const response = await harness.send(
      "/",
      postInit(
        { query: READ_MANY, variables: { ids: [] } },
        { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token({ sub } as never)}` },
      ),
    );
    expect(response.status).toBe(401);
    expect(response.text).toContain("its sub claim is not a non-empty string");
  });

  it("refuses a token without a subject (401): a caller must be someone", async () => {
    const response = await harness.send(
      "/",
      postInit(
        { query: READ_MANY, variables: { ids: [] } },
        { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token({ sub: undefined, scope: "tasks:read" })}` },
      ),
    );
    expect(response.status).toBe(401);
    expect(response.text).toContain("it has no sub claim");
  });

  it("never logs a refusal as a fault, nor anyone's subject", () => {
    expect(harness.errorLines()).toEqual([]);
    expect(harness.logs.text()).not.toContain("caller-1");
  });
});

describe("a fair share each: CALLER_MAX_STARTS_PER_MINUTE and CALLER_MAX_TASK_IDS_PER_SECOND", () => {
  let harness: AttackHarness;
  beforeAll(async () => {
    harness = await startAttackHarness({
      config: {
        callers: { taskIdsPerSecond: 50, startsPerMinute: 2, persistedBytesPerMinute: 262_144 },
        fleet: { resultCache: { finalTtlMs: 300_000, inProgressMs: 1_000, maxEntries: 1_000 } },
      },
    });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const ask = async (body: unknown, sub: string): Promise<Answer> => {
    const headers = { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token({ sub })}` };
    const response = await harness.send("/", postInit(body, headers));
    return { status: response.status, headers: response.headers, ...(JSON.parse(response.text) as Omit<Answer, "status" | "headers">) };
  };
  const ids = (from: number, count: number) => Array.from({ length: count }, (_, n) => syntheticTaskId(from + n));

  it("answers a caller's third start in a minute with HTTP 429 RATE_LIMITED and Retry-After, sending nothing; another caller still starts", async () => {
    const first = await ask({ query: START, variables: { email: EMAIL } }, "starter");
    const second = await ask({ query: START, variables: { email: EMAIL } }, "starter");
    expect([first.errors, second.errors]).toEqual([undefined, undefined]);
    const third = await ask({ query: START, variables: { email: EMAIL } }, "starter");
    expect(third.status).toBe(429);
    expect(third.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", reason: "starts", retryable: true, mayHaveStarted: false });
    const retryAfter = Number(third.errors?.[0]?.extensions["retryAfterSeconds"]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(third.headers.get("retry-after")).toBe(String(retryAfter));
    expect(harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(2);
    const other = await ask({ query: START, variables: { email: EMAIL } }, "someone-else");
    expect(other.errors).toBeUndefined();
    expect(harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(3);
    expect(await metric(harness.service.url, 'caller_budget_refusals_total{reason="starts"}')).toBe(1);
  });

  it("holds one caller to its task ids per second: of five concurrent 50-id queries at most two are sent, the rest 429 RATE_LIMITED", async () => {
    const answers = await Promise.all(Array.from({ length: 5 }, (_, n) => ask({ query: READ_MANY, variables: { ids: ids(n * 20, 50) } }, "lister")));
    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const answer of limited) {
      expect(new Set(answer.errors?.map((error) => error.extensions["code"]))).toEqual(new Set(["RATE_LIMITED"]));
      expect(answer.errors?.[0]?.extensions).toMatchObject({ reason: "task_ids", retryAfterSeconds: 1 });
    }
    const sent = harness.emulator.calls.reduce((sum, call) => sum + call.taskIdList.length, 0);
    expect(sent).toBeLessThanOrEqual(100);
    // Another caller is not held by the first one's budget.
    const other = await ask({ query: READ_MANY, variables: { ids: [syntheticTaskId(140)] } }, "poller");
    expect(other.errors).toBeUndefined();
  });

  it("refuses a caller known to be over budget whole, before anything runs: one error, HTTP 429", async () => {
    const answers: Answer[] = [];
    // Ids AppFabric does not know: never cached, so each costs the budget.
    for (let n = 0; n < 10; n++) answers.push(await ask({ query: READ_MANY, variables: { ids: ids(10_000 + n * 50, 50) } }, "repeater"));
    const whole = answers.filter((answer) => answer.status === 429 && answer.errors?.length === 1 && answer.errors[0]?.path === undefined);
    expect(whole.length).toBeGreaterThanOrEqual(1);
    expect(whole[0]?.data).toBeUndefined();
    expect(whole[0]?.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", reason: "task_ids" });
    expect(whole[0]?.headers.get("retry-after")).toBe("1");
    // A query that lists no task id still runs.
    expect((await ask({ query: "{ __typename }" }, "repeater")).status).toBe(200);
  });

  it("charges a subscription's first look at tasks nobody watches to its caller, so churning subscriptions cannot pass the budget", async () => {
    const client = wsClient(harness.service.url, {
      webSocketImpl: withHandshakeHeaders({ "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await harness.token({ sub: "churner" })}` }),
    });
    // Ids AppFabric does not know: each subscription ends at once (NOT_FOUND), and the next is sent.
    const outcomes: Array<string | undefined> = [];
    for (let n = 0; n < 6; n++) {
      const subscription = watch(client.client, WATCH, { ids: ids(20_000 + n * 50, 50) });
      await subscription.ended;
      outcomes.push(String(subscription.events[0]?.errors?.[0]?.extensions?.["code"]));
    }
    await disposeAll([client]);
    expect(outcomes.filter((code) => code === "RATE_LIMITED").length).toBeGreaterThanOrEqual(3);
    const sent = harness.emulator.calls.reduce((sum, call) => sum + call.taskIdList.length, 0);
    expect(sent).toBeLessThanOrEqual(150);
  });

  it("charges nothing for cache hits: the same 50 final tasks answered six times in a row cost one call", async () => {
    const asked = ids(100, 50);
    for (let round = 0; round < 6; round++) {
      const answer = await ask({ query: READ_MANY, variables: { ids: asked } }, "dashboard");
      expect(answer.errors).toBeUndefined();
    }
    expect(harness.emulator.calls).toHaveLength(1);
  });

  it("logs a caller over budget at info, never as a fault, and never names the caller in metrics", async () => {
    expect(harness.errorLines()).toEqual([]);
    const limited = harness.logs.lines().filter((line) => line["msg"] === "operation" && JSON.stringify(line["errorCodes"]).includes("RATE_LIMITED"));
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((line) => line["level"] === 30)).toBe(true);
    const refused = limited.filter((line) => line["httpStatus"] === 429);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((line) => line["reason"] === "rate_limited")).toBe(true);
    const metrics = await (await fetch(new URL("/metrics", harness.service.url))).text();
    expect(metrics).not.toMatch(/starter|lister|dashboard|caller-1/);
  });
});

describe("the default budgets", () => {
  it("keep one busy frontend well inside them: a 500-id page and its polls, every second", () => {
    const { callers, limits } = testConfig({}, { CALLER_MAX_TASK_IDS_PER_SECOND: "", CALLER_MAX_STARTS_PER_MINUTE: "" });
    expect(callers.taskIdsPerSecond).toBeGreaterThanOrEqual(limits.maxTaskIdsPerOperation);
    expect(callers.startsPerMinute).toBeGreaterThanOrEqual(10);
  });
});
