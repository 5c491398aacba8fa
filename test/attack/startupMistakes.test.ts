import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { StartedTasks } from "../../src/emulator/startedTasks.js";
import { BARE_ENV, withTsx } from "../support/spawnEntry.js";

async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, withTsx("src/index.ts"), { env: { ...BARE_ENV, ...env }, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const [code] = (await once(child, "exit")) as [number | null];
  clearTimeout(timer);
  return { code, stderr };
}

/** Class 10: a start that cannot work stops with one line naming the variable, never a stack trace. */
describe("mistakes at start", () => {
  it("names PORT when the port is taken", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const { port } = holder.address() as { port: number };
    try {
      const { code, stderr } = await start({ PORT: String(port), HOST: "127.0.0.1" });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `Configuration error: PORT ${port} is already in use on 127.0.0.1; choose another PORT (0 picks a free one) or stop what holds it.`,
      );
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it.each<{ env: Record<string, string>; message: string }>([
    { env: { HOST: "not a host!" }, message: 'HOST must be an IP address (0.0.0.0, ::, 127.0.0.1) or a host name such as localhost; received "not a host!".' },
    { env: { HOST: "192.0.2.55", PORT: "0" }, message: 'HOST "192.0.2.55" is not an address of this machine' },
    { env: { NODE_ENV: "prod" }, message: 'NODE_ENV must be one of production, development, test, or unset; received "prod".' },
    {
      env: { AUTH_JWT_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\\ngarbage\\n-----END PUBLIC KEY-----", AUTH_JWT_ISSUER: "https://i/", AUTH_JWT_AUDIENCE: "a" },
      message: "AUTH_JWT_PUBLIC_KEY must be a PEM public key",
    },
    { env: { METRICS_OPERATION_NAMES: "Good, not-a-name!" }, message: "METRICS_OPERATION_NAMES must be a comma-separated list of GraphQL operation names" },
    // Blank is not unset: read as unset, it would start with authentication off.
    { env: { ROUTER_SECRET: " ".repeat(20) }, message: "ROUTER_SECRET must be a value, or unset (it holds only blanks)" },
    {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://user:pw@127.0.0.1:4318/" },
      message:
        'OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL of an OTLP/HTTP collector, e.g. http://localhost:4318; received "ftp://redacted@127.0.0.1:4318/".',
    },
    {
      env: { PERSISTED_DOCUMENTS: "require", PERSISTED_DOCUMENTS_MANIFEST: "test/fixtures/staleManifest.json" },
      message:
        'PERSISTED_DOCUMENTS_MANIFEST must be documents valid against this service\'s schema; received "test/fixtures/staleManifest.json: Stale (id 5e7a1e0000000000…) is not valid against the schema: Cannot query field "removedField" on type "UserAccessTask"',
    },
  ])("refuses $env with one line that names the variable", async ({ env, message }) => {
    const { code, stderr } = await start(env);
    expect(code).toBe(1);
    expect(stderr).toContain(`Configuration error: ${message}`);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});

describe("--print-config", () => {
  it("prints the effective settings, secrets masked, and exits 0 without starting", async () => {
    const secret = "print-config-secret-0123456789";
    const child = spawn(process.execPath, [...withTsx("src/index.ts"), "--print-config"], {
      env: { ...BARE_ENV, ROUTER_SECRET: secret, REDIS_URL: `redis://:${secret}@127.0.0.1:1/0`, REDIS_URl: "typo" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const [code] = (await once(child, "exit")) as [number | null];
    clearTimeout(timer);
    expect(code).toBe(0);
    expect(output).toContain("ROUTER_SECRET=[set, not shown]");
    expect(output).toContain("REDIS_URL=redis://redacted@127.0.0.1:1/0");
    expect(output).toContain("# warning: REDIS_URl is not a setting of this service and is ignored: did you mean REDIS_URL?");
    expect(output).not.toContain(secret);
    expect(output).not.toContain("ready at");
  });
});

describe("the embedded emulator's memory", () => {
  it("keeps at most MAX_TASKS started tasks, forgetting the oldest", () => {
    const tasks = new StartedTasks(1000, () => 0);
    let first: string | undefined;
    while (tasks.list().length < StartedTasks.MAX_TASKS) {
      const started = tasks.start("jordan@example.com").flatMap((task) => task.taskId ?? []);
      first ??= started[0];
    }
    tasks.start("jordan@example.com");
    expect(tasks.list().length).toBeLessThanOrEqual(StartedTasks.MAX_TASKS);
    expect(tasks.view(first ?? "")).toBeUndefined();
  });
});
