import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Fault } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { startService } from "../../src/startService.js";
import { freePort } from "../support/freePort.js";
import { postGraphQL, startHarness, type GraphQLResponse, type Harness } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";

const ONE = `query($id: ID!) { userAccessTask(id: $id) { taskId } }`;
const ID = syntheticTaskId(1);

/** The single error of a one-field query, with the checks every mapped error must pass. */
function onlyError(response: GraphQLResponse<unknown>) {
  expect(response.status).toBe(200);
  expect(response.data).toEqual({ userAccessTask: null });
  expect(response.errors).toHaveLength(1);
  const error = response.errors?.[0];
  expect(error?.path).toEqual(["userAccessTask"]);
  expect(error?.extensions).not.toHaveProperty("stacktrace");
  return { message: error?.message ?? "", extensions: error?.extensions ?? {} };
}

describe("AppFabric failures reach clients as precise codes", () => {
  let harness: Harness;
  // The service's clock: a 429 holds every call for its Retry-After, so each test starts a minute later.
  let clock = Date.now();
  beforeAll(async () => {
    // One attempt: these tests are about mapping; retries have their own fault matrix.
    harness = await startHarness({ appFabric: { timeoutMs: 300, maxAttempts: 1 }, now: () => clock });
  });
  afterAll(() => harness.close());
  beforeEach(() => {
    harness.emulator.reset();
    clock += 61_000;
  });

  const rows: Array<{ name: string; fault: Fault; code: string; retryable: boolean; aws?: object; extra?: object }> = [
    {
      name: "ThrottlingException 429 with Retry-After → THROTTLED with retryAfterSeconds",
      fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "7" },
      code: "THROTTLED",
      retryable: true,
      aws: { errorType: "ThrottlingException", statusCode: 429 },
      extra: { retryAfterSeconds: 7 },
    },
    {
      name: "InternalServerException 500 → UPSTREAM_ERROR",
      fault: { kind: "error", status: 500, errorType: "InternalServerException" },
      code: "UPSTREAM_ERROR",
      retryable: true,
      aws: { errorType: "InternalServerException", statusCode: 500 },
    },
    {
      name: "an untyped 503 → UPSTREAM_ERROR",
      fault: { kind: "error", status: 503 },
      code: "UPSTREAM_ERROR",
      retryable: true,
      aws: { statusCode: 503 },
    },
    {
      name: "AccessDeniedException 403 → FORBIDDEN",
      fault: { kind: "error", status: 403, errorType: "AccessDeniedException" },
      code: "FORBIDDEN",
      retryable: false,
      aws: { errorType: "AccessDeniedException", statusCode: 403 },
    },
    {
      name: "ExpiredTokenException 403 → FORBIDDEN",
      fault: { kind: "error", status: 403, errorType: "ExpiredTokenException", message: "The security token included in the request is expired" },
      code: "FORBIDDEN",
      retryable: false,
      aws: { errorType: "ExpiredTokenException", statusCode: 403 },
    },
    {
      name: "ValidationException 400 → BAD_USER_INPUT with reason and fieldList",
      fault: { kind: "error", status: 400, errorType: "ValidationException" },
      code: "BAD_USER_INPUT",
      retryable: false,
      aws: { errorType: "ValidationException", statusCode: 400 },
    },
    { name: "a timeout → UPSTREAM_UNAVAILABLE", fault: { kind: "delay", ms: 1_000 }, code: "UPSTREAM_UNAVAILABLE", retryable: true },
    { name: "a dropped connection → UPSTREAM_UNAVAILABLE", fault: { kind: "reset" }, code: "UPSTREAM_UNAVAILABLE", retryable: true },
    {
      name: "an unreadable body → UPSTREAM_UNAVAILABLE",
      fault: { kind: "malformed" },
      code: "UPSTREAM_UNAVAILABLE",
      retryable: false,
      aws: { statusCode: 200 },
    },
  ];

  it.each(rows)("$name", async ({ fault, code, retryable, aws, extra }) => {
    harness.emulator.injectFault({ fault, times: 1 });
    const { extensions } = onlyError(await harness.query(ONE, { id: ID }));

    expect(extensions).toMatchObject({ code, retryable, ...extra });
    if (aws) expect(extensions["aws"]).toMatchObject(aws);
    else expect(extensions).not.toHaveProperty("aws");
    expect(harness.emulator.calls).toHaveLength(1);
  });

  it("carries AWS's request id in extensions.aws", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 500, errorType: "InternalServerException" }, times: 1 });
    const { extensions } = onlyError(await harness.query(ONE, { id: ID }));

    expect((extensions["aws"] as { requestId?: string }).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("holds every call for a 429's Retry-After: THROTTLED at once and nothing sent, then calls again", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "20" }, times: 1 });
    expect(onlyError(await harness.query(ONE, { id: ID })).extensions).toMatchObject({ code: "THROTTLED", retryAfterSeconds: 20 });
    clock += 5_000;
    const held = onlyError(await harness.query(ONE, { id: syntheticTaskId(2) }));
    expect(held.extensions).toEqual({ code: "THROTTLED", retryable: true, retryAfterSeconds: 15 });
    expect(held.message).toContain("nothing was sent");
    expect(harness.emulator.calls.map((call) => call.status)).toEqual([429]);
    clock += 15_000;
    expect((await harness.query(ONE, { id: ID })).data).toEqual({ userAccessTask: { taskId: ID } });
    expect(harness.emulator.calls.map((call) => call.status)).toEqual([429, 200]);
  });

  it("keeps serving after every failure", async () => {
    const response = await harness.query(ONE, { id: ID });
    expect(response.data).toEqual({ userAccessTask: { taskId: ID } });
  });
});

describe("failures of configuration, answered by the emulator as AWS would", () => {
  async function queryWith(options: Parameters<typeof startHarness>[0]) {
    const harness = await startHarness({ ...options, appFabric: { maxAttempts: 1 } });
    try {
      return { response: await harness.query(ONE, { id: ID }), calls: harness.emulator.calls };
    } finally {
      await harness.close();
    }
  }

  it("answers a request signed with the wrong secret with UPSTREAM_ERROR (this service's fault, not the caller's rights), revealing no key or signature", async () => {
    const { response, calls } = await queryWith({ credentials: { ...EMULATOR_CREDENTIALS, secretAccessKey: "wrong-secret-0000000000000000000000000000" } });
    const { message, extensions } = onlyError(response);

    expect(extensions).toEqual({
      code: "UPSTREAM_ERROR",
      retryable: false,
      aws: { errorType: "InvalidSignatureException", statusCode: 403, requestId: expect.any(String) },
    });
    expect(message).toContain("refused this service's request signature");
    expect(calls.map((call) => call.status)).toEqual([403]);
    expect(response.text).not.toContain(EMULATOR_CREDENTIALS.accessKeyId);
    expect(response.text).not.toMatch(/[0-9a-f]{64}/);
  });

  it("answers an access key AWS does not know with FORBIDDEN", async () => {
    const { response } = await queryWith({ credentials: { accessKeyId: "AKIAUNKNOWN000000000", secretAccessKey: "x".repeat(40) } });

    expect(onlyError(response).extensions).toMatchObject({ code: "FORBIDDEN", aws: { errorType: "UnrecognizedClientException", statusCode: 403 } });
    expect(response.text).not.toContain("AKIAUNKNOWN000000000");
  });

  it("answers an unknown app bundle with NOT_FOUND naming it", async () => {
    const bundle = "arn:aws:appfabric:us-east-1:111122223333:appbundle/00000000-0000-4000-8000-00000000ffff";
    const { response } = await queryWith({ appBundleIdentifier: bundle });
    const { message, extensions } = onlyError(response);

    expect(extensions).toMatchObject({ code: "NOT_FOUND", retryable: false, aws: { errorType: "ResourceNotFoundException", statusCode: 404 } });
    expect(message).toContain(bundle);
  });

  it("answers an app bundle AWS rejects as invalid with BAD_USER_INPUT, reason and fieldList", async () => {
    const { response } = await queryWith({ appBundleIdentifier: "not a bundle" });

    expect(onlyError(response).extensions).toMatchObject({
      code: "BAD_USER_INPUT",
      retryable: false,
      reason: "fieldValidationFailed",
      fieldList: [{ name: "appBundleIdentifier", message: expect.stringContaining("regular expression") }],
      aws: { errorType: "ValidationException", statusCode: 400 },
    });
  });

  it("answers UPSTREAM_UNAVAILABLE when nothing listens at the endpoint", async () => {
    const closedPort = await freePort();
    const service = await startService(
      testConfig({ upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint: new URL(`http://127.0.0.1:${closedPort}`) } }),
      { credentials: EMULATOR_CREDENTIALS },
    );
    try {
      const { message, extensions } = onlyError(await postGraphQL(service.url, ONE, { id: ID }));
      expect(extensions).toEqual({ code: "UPSTREAM_UNAVAILABLE", retryable: true });
      expect(message).toContain("ECONNREFUSED");
    } finally {
      await service.stop();
    }
  });
});

describe("a resultStatus AppFabric adds after this schema (forward compatibility)", () => {
  const TASK = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
  it("answers resultStatus null with the name in resultStatusText, no error, and keeps asking AppFabric (never final, never cached)", async () => {
    const harness = await startHarness({
      emulator: { tasks: [{ taskId: TASK, app: "Slack", resultStatus: "CANCELLED" as unknown as "COMPLETED" }] },
      config: { fleet: testConfig({}, { RESULT_CACHE: "on" }).fleet },
    });
    try {
      const query = `query($id: ID!) { userAccessTask(id: $id) { taskId resultStatus resultStatusText app } }`;
      for (let poll = 0; poll < 2; poll++) {
        const response = await harness.query(query, { id: TASK });
        expect(response.errors).toBeUndefined();
        expect(response.data).toEqual({ userAccessTask: { taskId: TASK, resultStatus: null, resultStatusText: "CANCELLED", app: "Slack" } });
      }
      // A status with no known lifetime is not kept: each poll asked AppFabric.
      expect(harness.emulator.calls.map((call) => call.status)).toEqual([200, 200]);
    } finally {
      await harness.close();
    }
  });
});
