import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { promisify } from "node:util";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppFabricEmulator } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { spawnEntry, withTsx } from "../support/spawnEntry.js";

const run = promisify(execFile);
const TASK_ID = DEMO_TASKS[0]?.taskId ?? "";

/**
 * The emulator as the real AWS SDKs meet it: the machines' boto3/botocore and the AWS CLI (both know
 * AppFabric) sign as AWS's own clients do (no `x-amz-content-sha256`), parse AWS's answers and errors.
 * Nothing of the machine's AWS configuration is read: a fresh HOME, no config or credentials file.
 * Missing tools fail these tests, never skip them (`.ci/run` installs them when absent).
 */
describe("the emulator with the real AWS SDK for Python and the AWS CLI", () => {
  let emulator: AppFabricEmulator;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    emulator = await AppFabricEmulator.start();
    const home = mkdtempSync(join(tmpdir(), "aws-sdk-home-"));
    env = {
      PATH: process.env["PATH"],
      HOME: home,
      AWS_CONFIG_FILE: join(home, "none"),
      AWS_SHARED_CREDENTIALS_FILE: join(home, "none"),
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
    };
  });
  afterAll(async () => {
    await emulator.close();
  });

  it("boto3: both operations answer; validation, throttling, a wrong secret, an unknown key and a made-up session token are AWS's errors", async () => {
    // The fifth call that passes the signature check (the second carrying TASK_ID) meets a 429.
    emulator.injectFault({ taskId: TASK_ID, skip: 1, times: 1, fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "7" } });
    const { stdout } = await run("python3", ["test/fixtures/boto3Calls.py", emulator.url.href.replace(/\/$/, ""), DEMO_APP_BUNDLE_ARN, TASK_ID], {
      env,
      timeout: 60_000,
    }).catch((error: unknown) => {
      throw new Error(`python3 with boto3 (AppFabric-aware, botocore ≥ 1.29.150) is needed: ${String((error as { stderr?: unknown }).stderr ?? error)}`);
    });
    const got = JSON.parse(stdout) as Record<string, unknown>;
    expect(got["results"]).toEqual([expect.objectContaining({ taskId: TASK_ID, app: "Slack", resultStatus: "COMPLETED", email: "jordan.rivers@example.com" })]);
    expect((got["started"] as unknown[]).length).toBeGreaterThan(0);
    expect(got["badTaskId"]).toMatchObject({
      code: "ValidationException",
      status: 400,
      members: {
        reason: "fieldValidationFailed",
        fieldList: [{ name: "taskIdList.1.member", message: expect.stringMatching(/^Member must satisfy regular expression pattern/) }],
      },
    });
    expect(got["badEmail"]).toMatchObject({ code: "ValidationException", status: 400, members: { fieldList: [{ name: "email" }] } });
    expect(got["throttled"]).toMatchObject({ code: "ThrottlingException", status: 429, retryAfter: "7" });
    expect(got["wrongSecret"]).toMatchObject({ code: "InvalidSignatureException", status: 403 });
    expect(got["unknownKey"]).toMatchObject({ code: "UnrecognizedClientException", status: 403 });
    expect(got["madeUpSessionToken"]).toMatchObject({ code: "UnrecognizedClientException", status: 403 });
    // What reached the emulator: every call signed with the demo key or the wrong ones, nothing else.
    expect(new Set(emulator.calls.map((call) => call.accessKeyId))).toEqual(new Set([EMULATOR_CREDENTIALS.accessKeyId, "AKIAUNKNOWN000000000"]));
    expect(emulator.startedTasks.length).toBeGreaterThan(0);
  });

  it.each([
    ["another content type (awsJson1_1's)", { "content-type": "application/x-amz-json-1.1" }],
    ["no content type (smithy's RestJsonWithBodyExpectsApplicationJsonContentTypeNoHeaders)", {}],
  ])("refuses a signed request with %s: 415 UnsupportedMediaTypeException, as restJson1 servers do", async (_what, contentType) => {
    const body = JSON.stringify({ appBundleIdentifier: DEMO_APP_BUNDLE_ARN, taskIdList: [TASK_ID] });
    const signer = new SignatureV4({ service: "appfabric", region: "us-east-1", credentials: EMULATOR_CREDENTIALS, sha256: Hash.bind(null, "sha256") });
    const request = await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname: emulator.url.hostname,
      port: Number(emulator.url.port),
      path: "/useraccess/batchget",
      headers: { host: emulator.url.host, ...contentType },
      body,
    });
    // node:http sends exactly these headers (fetch would add a content type of its own).
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(new URL("/useraccess/batchget", emulator.url), { method: "POST", headers: request.headers }, resolve).on("error", reject).end(body);
    });
    answer.resume();
    expect(answer.statusCode).toBe(415);
    expect(answer.headers["x-amzn-errortype"]).toMatch(/^UnsupportedMediaTypeException:/);
    // Refused before anything ran: the task was not read.
    expect(emulator.calls.at(-1)?.status).toBe(415);
  });

  it("answers a body past its 1 MiB limit with 413 RequestEntityTooLargeException, as AWS's common errors name it", async () => {
    const body = JSON.stringify({ appBundleIdentifier: DEMO_APP_BUNDLE_ARN, email: `${"a".repeat(2 * 1024 * 1024)}@example.com` });
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      httpRequest(new URL("/useraccess/start", emulator.url), { method: "POST", headers: { "content-type": "application/json" } }, resolve)
        .on("error", reject)
        .end(body);
    });
    answer.resume();
    expect(answer.statusCode).toBe(413);
    expect(answer.headers["x-amzn-errortype"]).toMatch(/^RequestEntityTooLargeException:/);
  });

  it("the AWS CLI: batch-get-user-access-tasks and start-user-access-tasks answer; a bad email is AWS's ValidationException", async () => {
    const endpoint = emulator.url.href.replace(/\/$/, "");
    const cli = (...args: string[]) => run("aws", ["appfabric", ...args, "--endpoint-url", endpoint, "--output", "json"], { env, timeout: 60_000 });
    const found = await cli("batch-get-user-access-tasks", "--app-bundle-identifier", DEMO_APP_BUNDLE_ARN, "--task-id-list", TASK_ID).catch(
      (error: unknown) => {
        throw new Error(`the AWS CLI (aws, AppFabric-aware) is needed: ${String((error as { stderr?: unknown }).stderr ?? error)}`);
      },
    );
    expect((JSON.parse(found.stdout) as { userAccessResultsList: unknown[] }).userAccessResultsList).toEqual([
      expect.objectContaining({ taskId: TASK_ID, resultStatus: "COMPLETED" }),
    ]);
    const started = await cli("start-user-access-tasks", "--app-bundle-identifier", DEMO_APP_BUNDLE_ARN, "--email", "jordan.rivers@example.com");
    expect((JSON.parse(started.stdout) as { userAccessTasksList: unknown[] }).userAccessTasksList.length).toBeGreaterThan(0);
    const refused = await cli("start-user-access-tasks", "--app-bundle-identifier", DEMO_APP_BUNDLE_ARN, "--email", "user@example_corp.com").then(
      () => undefined,
      (error: unknown) => error as { code?: unknown; stderr?: string },
    );
    expect(refused?.code).not.toBe(0);
    expect(refused?.stderr).toContain("(ValidationException)");
  });

  it("npm run emulator: prints its endpoint and demo key, answers the AWS CLI with what it printed, exits 0 on SIGTERM", async () => {
    const entry = await spawnEntry(withTsx("src/runEmulator.ts"), { EMULATOR_PORT: "0", AWS_REGION: "eu-west-1" });
    try {
      await entry.printed("Demo task ids:");
      const printed = entry.output();
      expect(printed).toContain(`export AWS_ACCESS_KEY_ID=${EMULATOR_CREDENTIALS.accessKeyId}`);
      expect(printed).toContain("export AWS_REGION=eu-west-1");
      const endpoint = entry.url.href.replace(/\/$/, "");
      const found = await run(
        "aws",
        [
          "appfabric",
          "batch-get-user-access-tasks",
          "--endpoint-url",
          endpoint,
          "--app-bundle-identifier",
          DEMO_APP_BUNDLE_ARN,
          "--task-id-list",
          TASK_ID,
          "--output",
          "json",
        ],
        { env: { ...env, AWS_DEFAULT_REGION: "eu-west-1" }, timeout: 60_000 },
      );
      expect(JSON.parse(found.stdout)).toMatchObject({ userAccessResultsList: [{ taskId: TASK_ID }] });
    } finally {
      entry.child.kill("SIGTERM");
    }
    const [code] = (await once(entry.child, "exit")) as [number | null];
    expect(code).toBe(0);
  });
});
