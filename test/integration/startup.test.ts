import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readdirSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { startService } from "../../src/startService.js";
import { postGraphQL } from "../support/harness.js";
import { BARE_ENV, spawnEntry, withTsx } from "../support/spawnEntry.js";
import { testConfig } from "../support/testConfig.js";

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

async function startEntry(env: Record<string, string>) {
  const entry = await spawnEntry(withTsx("src/index.ts"), env);
  child = entry.child;
  return entry;
}

describe("starting the service", () => {
  it("runs on the embedded emulator with no AWS settings, says so, and answers the demo ids", async () => {
    const { printed, url } = await startEntry({ PORT: "0" });

    // The lines after "ready at" may come in later chunks.
    await printed("No AWS calls are made");
    for (const task of DEMO_TASKS) await printed(task.taskId ?? "(no id)");
    const response = await postGraphQL<{ userAccessTasks: Array<{ resultStatus: string }> }>(
      url,
      `query($ids: [ID!]!) { userAccessTasks(ids: $ids) { resultStatus } }`,
      { ids: DEMO_TASKS.map((task) => task.taskId) },
    );
    expect(response.errors).toBeUndefined();
    expect(new Set(response.data?.userAccessTasks.map((task) => task.resultStatus))).toEqual(new Set(["COMPLETED", "FAILED", "IN_PROGRESS", "EXPIRED"]));
  });

  it("serves Sandbox on a ready example query whose variables hold demo ids", async () => {
    const { url } = await startEntry({ PORT: "0" });
    const page = await (await fetch(url, { headers: { accept: "text/html" } })).text();

    expect(page).toContain("embeddable-sandbox");
    expect(page).toContain("userAccessTasks(ids: $ids)");
    expect(page).toContain(DEMO_TASKS[0]?.taskId);
  });

  it("serves GraphiQL instead with LANDING_PAGE=graphiql, its assets from the service, under a policy that lets nothing else load", async () => {
    const { url } = await startEntry({ PORT: "0", LANDING_PAGE: "graphiql" });
    const response = await fetch(url, { headers: { accept: "text/html" } });
    const page = await response.text();

    expect(page).not.toContain("embeddable-sandbox");
    expect(page).toContain("userAccessTasks(ids: $ids)");
    expect(page).toContain(DEMO_TASKS[0]?.taskId);
    const policy = (headers: Headers) => ({
      csp: headers.get("content-security-policy"),
      nosniff: headers.get("x-content-type-options"),
      frames: headers.get("x-frame-options"),
    });
    const expected = {
      csp: expect.stringMatching(/^default-src 'self'; script-src 'self'; .*connect-src 'self'; .*frame-ancestors 'none'$/) as string,
      nosniff: "nosniff",
      frames: "DENY",
    };
    expect(policy(response.headers)).toEqual(expected);
    const linked = [...page.matchAll(/(?:src|href)="\.\/(graphiql\/[\w.-]+)"/g)].map((match) => match[1] ?? "");
    expect(linked.length).toBeGreaterThanOrEqual(2);
    // Monaco's workers are started by script; each gets its policy from its own response.
    const workers = readdirSync(new URL("../../explorer/dist/graphiql/", import.meta.url)).filter((file) => file.includes(".worker-"));
    expect(workers.length).toBe(3);
    for (const asset of [...linked, ...workers.map((file) => `graphiql/${file}`)]) {
      const file = await fetch(new URL(asset, url));
      expect(file.status).toBe(200);
      expect(file.headers.get("cache-control")).toContain("immutable");
      expect(policy(file.headers)).toEqual(expected);
    }
    // GraphQL's JSON answers keep their own headers.
    const answer = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: '{"query":"{ __typename }"}' });
    expect(answer.headers.get("content-security-policy")).toBeNull();
    // Only the files the build wrote: no listing, no way out of the folder.
    for (const path of ["/graphiql/", "/graphiql/../package.json", "/graphiql/%2e%2e/package.json", "/graphiql/missing.js"]) {
      expect((await fetch(new URL(path, url))).status).toBe(404);
    }
  });

  it("stops with exit code 0 on SIGTERM", async () => {
    await startEntry({ PORT: "0" });
    const exited = once(child as ChildProcess, "exit");
    child?.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
  });

  it("on SIGTERM, finishes the request in flight, then exits 0", async () => {
    const slow = JSON.stringify([{ fault: { kind: "delay", ms: 800 } }]);
    const { url } = await startEntry({ PORT: "0", APPFABRIC_EMULATOR_FAULTS: slow });
    const inFlight = postGraphQL(url, `query($id: ID!) { userAccessTask(id: $id) { app } }`, { id: DEMO_TASKS[0]?.taskId });
    // SIGTERM once the request's AppFabric call is under way (the emulator holds it 800 ms).
    const callsInFlight = async () => Number(/appfabric_calls_in_flight\{[^}]*\} (\d+)/.exec(await (await fetch(new URL("/metrics", url))).text())?.[1] ?? 0);
    for (let waited = 0; (await callsInFlight()) === 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(child as ChildProcess, "exit");
    child?.kill("SIGTERM");

    expect((await inFlight).data).toEqual({ userAccessTask: { app: "Slack" } });
    expect((await exited)[0]).toBe(0);
  });

  it("refuses a bad setting with one line that names it, and no stack trace", async () => {
    child = spawn(process.execPath, withTsx("src/index.ts"), { env: { ...BARE_ENV, PORT: "http" }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, "exit");

    expect(code).toBe(1);
    expect(stderr.trim()).toBe('Configuration error: PORT must be an integer from 0 to 65535; received "http".');
  });
});

describe("the production build", () => {
  it("builds to plain JavaScript that starts with production defaults", { timeout: 120_000 }, async () => {
    const build = spawn("npm", ["run", "build"], { stdio: "ignore" });
    expect((await once(build, "exit"))[0]).toBe(0);

    const refused = spawn(process.execPath, ["dist/index.js"], { env: { ...BARE_ENV, NODE_ENV: "production" }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    refused.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    expect((await once(refused, "exit"))[0]).toBe(1);
    expect(stderr).toContain("APPFABRIC_APP_BUNDLE must be set in production");

    const entry = await spawnEntry(["dist/index.js"], { NODE_ENV: "production", APPFABRIC_EMULATOR: "true", PORT: "0" });
    child = entry.child;
    const response = await postGraphQL(entry.url, `query($id: ID!) { userAccessTask(id: $id) { app } }`, { id: DEMO_TASKS[0]?.taskId });
    expect(response.data).toEqual({ userAccessTask: { app: "Slack" } });
    expect(await (await fetch(entry.url, { headers: { accept: "text/html" } })).text()).not.toContain("embeddable-sandbox");
    // JSON log lines, not pretty ones; the first warns that production runs without authentication.
    expect(entry.output()).toMatch(/^\{"level":40,[^\n]*Production without authentication/);
  });
});

describe("production mode", () => {
  it("turns off Sandbox, GraphiQL and introspection", async () => {
    const service = await startService(testConfig({}, { NODE_ENV: "production", APPFABRIC_EMULATOR: "true", LANDING_PAGE: "graphiql" }));
    try {
      const introspection = await postGraphQL(service.url, "{ __schema { queryType { name } } }");
      expect(introspection.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
      const page = await (await fetch(service.url, { headers: { accept: "text/html" } })).text();
      expect(page).not.toContain("embeddable-sandbox");
      expect(page).not.toContain("explorer-settings");
      const data = await postGraphQL(service.url, `query($id: ID!) { userAccessTask(id: $id) { app } }`, { id: DEMO_TASKS[0]?.taskId });
      expect(data.data).toEqual({ userAccessTask: { app: "Slack" } });
      expect((await fetch(new URL("/graphiql/", service.url))).status).toBe(404);
    } finally {
      await service.stop();
    }
  });
});
