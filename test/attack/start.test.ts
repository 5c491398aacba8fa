import { createServer } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testConfig } from "../support/testConfig.js";
import { PERSONAL, postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const START = "mutation($email: String!) { startUserAccessTasks(email: $email) { app taskId } }";
const EMAIL = "jordan.rivers@example.com";
type Answer = { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };

/**
 * Class 5: `StartUserAccessTasks` is not idempotent. At most one start per operation; when its outcome
 * is unknown the caller is told tasks may exist (`retryable: false`, `mayHaveStarted: true`); emails
 * with hidden characters never reach AppFabric.
 */
describe("the non-idempotent start", () => {
  let harness: AttackHarness;
  let clock = Date.now();
  let headers: Record<string, string>;
  beforeAll(async () => {
    // An attempt timeout long enough for a loaded machine, and a fault delay well past it.
    // The service's clock: after 429s every call is held for a while (the fleet's throttling hold).
    harness = await startAttackHarness({ appFabric: { ...testConfig().appFabric, timeoutMs: 1_000 }, now: () => clock });
    headers = await harness.credentials();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const start = async (query: string, variables: Record<string, unknown> = { email: EMAIL }) => {
    const response = await harness.send("/", postInit({ query, variables }, headers));
    return { status: response.status, text: response.text, body: JSON.parse(response.text) as Answer };
  };
  const starts = () => harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks");

  it.each([
    {
      what: "20 aliases",
      query: `mutation($email: String!) { ${Array.from({ length: 20 }, (_, n) => `s${n}: startUserAccessTasks(email: $email) { taskId }`).join(" ")} }`,
    },
    {
      what: "two aliases",
      query: "mutation($email: String!) { a: startUserAccessTasks(email: $email) { taskId } b: startUserAccessTasks(email: $email) { taskId } }",
    },
    {
      what: "a fragment and a field",
      query:
        "mutation($email: String!) { startUserAccessTasks(email: $email) { taskId } ...S } fragment S on Mutation { again: startUserAccessTasks(email: $email) { app } }",
    },
    {
      what: "inline fragments",
      query:
        'mutation { ... on Mutation { a: startUserAccessTasks(email: "a@example.com") { taskId } } ... { b: startUserAccessTasks(email: "b@example.com") { taskId } } }',
    },
    {
      what: "a skipped second start",
      query:
        "mutation($email: String!) { a: startUserAccessTasks(email: $email) { taskId } b: startUserAccessTasks(email: $email) @skip(if: true) { taskId } }",
    },
  ])("refuses an operation that starts more than once ($what), starting nothing", async ({ query }) => {
    const answer = await start(query);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", mayHaveStarted: false });
    expect(answer.body.errors?.[0]?.message).toContain("at most once");
    expect(starts()).toEqual([]);
  });

  it("answers a start whose answer timed out after AppFabric started the tasks with mayHaveStarted and retryable: false, and does not retry it", async () => {
    harness.emulator.injectFault({ fault: { kind: "delay", ms: 2_500 }, times: 1 });
    const answer = await start(START);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: false, mayHaveStarted: true });
    expect(answer.body.errors?.[0]?.message).toContain("may already have started tasks");
    expect(answer.body.errors?.[0]?.message).not.toContain("try again");
    // The emulator goes on with the delayed start after the service gave up on it.
    for (let waited = 0; harness.emulator.startedTasks.length === 0 && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(harness.emulator.startedTasks.length).toBeGreaterThan(0);
    expect(starts()).toHaveLength(1);
  });

  it.each([
    { status: 500, errorType: "InternalServerException" },
    { status: 503, errorType: "ServiceUnavailableException" },
  ])("answers a $status with mayHaveStarted and retryable: false, and does not retry it", async ({ status, errorType }) => {
    harness.emulator.injectFault({ fault: { kind: "error", status, errorType } });
    const answer = await start(START);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_ERROR", retryable: false, mayHaveStarted: true });
    expect(starts()).toHaveLength(1);
  });

  it("answers a connection reset after sending with mayHaveStarted", async () => {
    harness.emulator.injectFault({ fault: { kind: "reset" }, times: 1 });
    const answer = await start(START);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: false, mayHaveStarted: true });
    expect(starts()).toHaveLength(1);
  });

  it("keeps a refusal AppFabric gave before starting anything retryable and says nothing started", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException" } });
    const answer = await start(START);
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "THROTTLED", retryable: true, mayHaveStarted: false });
    harness.emulator.reset();
    // Past the hold the 429s left behind.
    clock += 61_000;
    harness.emulator.injectFault({ fault: { kind: "error", status: 400, errorType: "ValidationException" } });
    expect((await start(START)).body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", mayHaveStarted: false });
  });

  it.each([
    ["a NUL", "jordan\u0000@example.com"],
    ["a zero-width space", "jordan\u200b.rivers@example.com"],
    ["a right-to-left override", "jordan\u202e@example.com"],
    ["a soft hyphen", "jor\u00addan@example.com"],
    ["a byte-order mark inside", "jordan@exa\ufeffmple.com"],
    ["a line separator", "jordan@example.com\u2028x"],
    ["an escape", "jordan\u001b[31m@example.com"],
    ["a DEL", "jordan\u007f@example.com"],
    ["a word joiner", "jordan\u2060@example.com"],
  ])("refuses an email with %s before any call, and does not echo it", async (_what, email) => {
    const answer = await start(START, { email });
    expect(answer.body.errors?.[0]?.extensions).toMatchObject({ code: "BAD_USER_INPUT", mayHaveStarted: false });
    expect(answer.text).not.toMatch(PERSONAL);
    expect(starts()).toEqual([]);
  });

  it("still starts for a plain address, once", async () => {
    const answer = await start(START);
    expect(answer.body.errors).toBeUndefined();
    expect(starts()).toHaveLength(1);
  });
});

describe("a start cut off by the operation's deadline", () => {
  it("says tasks may have started when the deadline passed while the call was at AppFabric", async () => {
    const harness = await startAttackHarness({ config: { limits: { ...testConfig().limits, operationTimeoutMs: 300 } } });
    try {
      harness.emulator.injectFault({ fault: { kind: "delay", ms: 3_000 } });
      const response = await harness.send("/", postInit({ query: START, variables: { email: EMAIL } }, await harness.credentials()));
      const body = JSON.parse(response.text) as Answer;
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: false, mayHaveStarted: true });
      expect(harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(1);
    } finally {
      await harness.close();
    }
  });
});

describe("a start that never left", () => {
  it("says nothing started when AppFabric's port refuses the connection", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const harness = await startAttackHarness({ appFabric: { ...testConfig().appFabric, maxAttempts: 1 }, endpoint: new URL(`http://127.0.0.1:${port}`) });
    try {
      const response = await harness.send("/", postInit({ query: START, variables: { email: EMAIL } }, await harness.credentials()));
      const body = JSON.parse(response.text) as Answer;
      expect(body.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: true, mayHaveStarted: false });
    } finally {
      await harness.close();
    }
  });
});
