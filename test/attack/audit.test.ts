import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config/loadConfig.js";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { startService, type RunningService } from "../../src/startService.js";
import { disposeAll, metric, watch, wsClient } from "../support/subscriptions.js";
import { UNBOUNDED_CALLER } from "../support/testConfig.js";
import { AUDIENCE, ISSUER, postInit, signToken, trustedPublicKeyPem } from "./attackHarness.js";

const EMAIL = "Jordan.Rivers@Example.com";
const START = "mutation($email: String!) { startUserAccessTasks(email: $email) { app taskId } }";
const PERSONAL_READ = "query Review($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId userFullName } }";
const STATUS_READ = "query Poll($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }";
const DEMO_IDS = DEMO_TASKS.flatMap((task) => task.taskId ?? []);

/**
 * The audit trail (README "Who looked up whom"): one JSON line per start and per operation that read
 * personal fields, in AUDIT_LOG, whatever LOG_LEVEL says; the person named only by an HMAC digest
 * that the README's command reproduces.
 */
describe("the audit trail", () => {
  const key = randomBytes(32).toString("hex");
  const path = join(mkdtempSync(join(tmpdir(), "audit-")), "audit.jsonl");
  let service: RunningService;
  const lines = () =>
    readFileSync(path, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const headers = async (sub: string) => ({ authorization: `Bearer ${await signToken({ sub })}` });
  const post = async (body: unknown, sub: string, requestId: string) => {
    const response = await fetch(service.url, postInit(body, { ...(await headers(sub)), "x-request-id": requestId }));
    return JSON.parse(await response.text()) as { data?: Record<string, unknown>; errors?: unknown[] };
  };
  /** The lines written so far, once `count` are there (writes are asynchronous). */
  const written = async (count: number) => {
    await vi.waitFor(() => expect(lines().length).toBeGreaterThanOrEqual(count));
    return lines();
  };

  beforeAll(async () => {
    service = await startService(
      loadConfig({
        NODE_ENV: "production",
        APPFABRIC_EMULATOR: "true",
        PORT: "0",
        HOST: "127.0.0.1",
        LOG_LEVEL: "silent",
        AUDIT_LOG: path,
        AUDIT_KEY: key,
        AUTH_JWT_PUBLIC_KEY: await trustedPublicKeyPem(),
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
        ...UNBOUNDED_CALLER,
      }),
    );
  });
  afterAll(() => service.stop());

  it("writes a start's line, at LOG_LEVEL=silent, naming the caller and the apps and digesting the email", async () => {
    const answer = await post({ query: START, variables: { email: EMAIL } }, "reviewer-7", "start-1");
    const started = answer.data?.["startUserAccessTasks"] as Array<{ app: string; taskId: string | null }>;
    const [line] = await written(1);
    expect(line).toEqual({
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      action: "start",
      requestId: "start-1",
      caller: { iss: ISSUER, sub: "reviewer-7" },
      taskIds: started.filter((item) => item.taskId !== null).length,
      apps: started.flatMap((item) => (item.taskId === null ? [] : [item.app])),
      outcome: "started",
      emailDigest: expect.stringMatching(/^[0-9a-f]{64}$/) as string,
    });
  });

  it("answers 'who looked up this address?' with npm run audit:lookup, for any spelling of the address", async () => {
    // In upper case, with spaces around: one person, one digest. (AppFabric's email rule is ASCII-only:
    // an address with accented letters is refused before any lookup, so it never reaches the trail.)
    await post({ query: START, variables: { email: "JORG.Emile@Example.com" } }, "reviewer-8", "start-2");
    await written(2);
    const lookup = (address: string) =>
      execFileSync(process.execPath, ["--import", "tsx", "src/auditLookup.ts", address, path], {
        env: { PATH: process.env["PATH"] ?? "", AUDIT_KEY: key, AUDIT_LOG: "off" },
      }).toString();
    for (const spelling of ["jorg.emile@example.com", "  JORG.emile@EXAMPLE.COM "]) {
      const found = lookup(spelling).trim().split("\n");
      expect(found).toHaveLength(1);
      expect(JSON.parse(found[0] ?? "{}")).toMatchObject({ requestId: "start-2", caller: { sub: "reviewer-8" } });
    }
    expect(lookup(EMAIL)).toContain('"requestId":"start-1"');
    expect(() => lookup("nobody@example.com")).toThrow(); // exit 1: no line
  });

  it("answers 'who looked up this address?' with the README's openssl command for an ASCII address", () => {
    // README: the digest of the lower-cased address under AUDIT_KEY, then the lines that carry it.
    const shell = (script: string) =>
      execFileSync("sh", ["-c", script], { env: { PATH: process.env["PATH"] ?? "", AUDIT_KEY: key, EMAIL, AUDIT_LOG: path } }).toString();
    const digest = shell(`printf '%s' "$EMAIL" | tr '[:upper:]' '[:lower:]' | openssl dgst -sha256 -hmac "$AUDIT_KEY" | sed 's/^.*= //'`).trim();
    expect(digest).toBe(lines().find((line) => line["requestId"] === "start-1")?.["emailDigest"]);
    const found = shell(`grep -F "\\"emailDigest\\":\\"${digest}\\"" "$AUDIT_LOG"`);
    expect(found).toContain('"sub":"reviewer-7"');
    expect(found).toContain('"requestId":"start-1"');
  });

  it("writes a read's line only for an operation answered with personal fields", async () => {
    const before = lines().length;
    await post({ query: STATUS_READ, variables: { ids: DEMO_IDS } }, "poller", "poll-1");
    await post({ query: PERSONAL_READ, variables: { ids: ["00000000-0000-4000-8000-000000000000"] } }, "reviewer-7", "unknown-1");
    await post({ query: PERSONAL_READ, variables: { ids: DEMO_IDS.slice(0, 3) } }, "reviewer-7", "review-1");
    const after = await written(before + 1);
    expect(after.slice(before)).toEqual([
      {
        time: expect.any(String) as string,
        action: "read",
        requestId: "review-1",
        caller: { iss: ISSUER, sub: "reviewer-7" },
        taskIds: 3,
        operationName: "Review",
        via: "http",
      },
    ]);
  });

  it("writes a line for a subscription that watches personal fields", async () => {
    const before = lines().length;
    const client = wsClient(service.url, { connectionParams: await headers("watcher-3") });
    const subscription = watch(client.client, "subscription Watch($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId email } }", {
      ids: DEMO_IDS.slice(0, 2),
    });
    await vi.waitFor(() => expect(subscription.events.length).toBeGreaterThan(0));
    const after = await written(before + 1);
    expect(after.at(-1)).toMatchObject({ action: "read", caller: { sub: "watcher-3" }, taskIds: 2, operationName: "Watch", via: "websocket" });
    await disposeAll([client]);
  });

  it("holds no email, name or token in clear, and counts its lines", async () => {
    const text = readFileSync(path, "utf8");
    expect(text).not.toMatch(/jordan|rivers|@example\.com|jörg|émile|exämple|eyJ/i);
    for (const task of DEMO_TASKS) {
      for (const value of [task.email, task.userFullName, task.userFirstName, task.userLastName, task.userId]) if (value) expect(text).not.toContain(value);
    }
    expect(await metric(service.url, 'audit_records_total{action="start"}')).toBe(2);
    expect(await metric(service.url, 'audit_records_total{action="read"}')).toBe(2);
  });
});
