import { execFile, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { parseAllDocuments, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { freePort } from "../support/freePort.js";
import { postGraphQL } from "../support/harness.js";
import { metric } from "../support/subscriptions.js";

const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
/** This run's own tag (runs on one machine may overlap); untagged after, the layers stay cached. */
const TAG = `localhost/appfabric-subgraph:test-${randomUUID().slice(0, 8)}`;
/**
 * crun, podman's default here, cannot start a container on these machines (cgroup v1 with an empty
 * unified hierarchy: "cgroups in hybrid mode not supported"); runc can. CONTAINER_RUNTIME overrides.
 */
const RUNTIME = process.env["CONTAINER_RUNTIME"] ?? "runc";
/** podman raises open files and processes past what an unprivileged sandbox may: ask for no more than the hard limits. */
const hardLimit = (flag: string, wanted: number) =>
  Math.min(wanted, Number(spawnSync("sh", ["-c", `ulimit -H${flag}`], { encoding: "utf8" }).stdout.trim()) || wanted);
const ULIMITS = [
  "--ulimit",
  `nofile=${hardLimit("n", 16_384)}:${hardLimit("n", 16_384)}`,
  "--ulimit",
  `nproc=${hardLimit("u", 4_096)}:${hardLimit("u", 4_096)}`,
];
const SHUTDOWN_GRACE_MS = 5_000;

/** Waits for /health to answer 200 (the container's start), for at most `patienceMs`. */
async function untilHealthy(url: URL, patienceMs: number): Promise<void> {
  for (const started = Date.now(); Date.now() - started < patienceMs; await new Promise((resolve) => setTimeout(resolve, 200))) {
    if ((await fetch(new URL("/health", url)).catch(() => undefined))?.status === 200) return;
  }
  throw new Error(`The container did not answer /health within ${patienceMs} ms.`);
}

const podman = async (...args: string[]) => (await run("podman", args, { maxBuffer: 16 * 1024 * 1024 })).stdout.trim();

/**
 * The image as deploy/container/build.sh builds it (its bases made here from debootstrap and the npm
 * registry's Node), run as a deployment runs it: read-only root, no capabilities, the production
 * configuration on the embedded emulator. Queried over real HTTP, then stopped with SIGTERM.
 */
describe("the container image", () => {
  const name = `appfabric-subgraph-test-${randomUUID().slice(0, 8)}`;
  let url: URL;

  beforeAll(async () => {
    await run("deploy/container/build.sh", [TAG], { cwd: ROOT, env: { ...process.env, CONTAINER_RUNTIME: RUNTIME }, maxBuffer: 64 * 1024 * 1024 });
    const port = await freePort();
    url = new URL(`http://127.0.0.1:${port}/`);
    // Every AppFabric call held a second: a request is still in flight when SIGTERM comes.
    const faults = JSON.stringify([{ fault: { kind: "delay", ms: 1_000 } }]);
    await podman(
      "run",
      "--detach",
      "--name",
      name,
      "--runtime",
      RUNTIME,
      "--network",
      "host",
      "--read-only",
      // Not even podman's writable /tmp, /var/tmp and /run: the service writes nothing.
      "--read-only-tmpfs=false",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      ...ULIMITS,
      "--env",
      "APPFABRIC_EMULATOR=true",
      "--env",
      `PORT=${port}`,
      "--env",
      `SHUTDOWN_GRACE_MS=${SHUTDOWN_GRACE_MS}`,
      "--env",
      `APPFABRIC_EMULATOR_FAULTS=${faults}`,
      TAG,
    );
    await untilHealthy(url, 30_000);
  }, 900_000);
  afterAll(async () => {
    await podman("rm", "--force", "--ignore", name).catch(() => undefined);
    await podman("untag", TAG, TAG).catch(() => undefined);
  }, 60_000);

  it("holds production dependencies only, and runs as an unprivileged user on a read-only root", async () => {
    const absent = ["typescript", "vitest", "vite", "tsx", "graphiql", "react", "eslint", "playwright-core"];
    const found = await podman(
      "run",
      "--rm",
      "--runtime",
      RUNTIME,
      ...ULIMITS,
      "--entrypoint",
      "sh",
      TAG,
      "-c",
      `cd node_modules && ls -d ${absent.join(" ")} 2>/dev/null; true`,
    );
    expect(found).toBe("");
    expect(await podman("inspect", "--format", "{{.Config.User}}", TAG)).toBe("10001:10001");
    expect(await podman("exec", name, "id")).toBe("uid=10001(app) gid=10001(app) groups=10001(app)");
    await expect(podman("exec", name, "touch", "/app/written")).rejects.toThrow(/Read-only file system/);
  });

  it("stops with one line when AUDIT_LOG names a file it cannot write (the read-only root, no volume)", async () => {
    const start = run("podman", [
      "run",
      "--rm",
      "--runtime",
      RUNTIME,
      ...ULIMITS,
      "--network",
      "none",
      "--read-only",
      "-e",
      "APPFABRIC_EMULATOR=true",
      "-e",
      "AUDIT_LOG=/app/audit.log",
      TAG,
    ]);
    const failed = (await start.then(
      () => undefined,
      (error: unknown) => error,
    )) as { code?: number; stderr?: string } | undefined;
    expect(failed?.code).toBe(1);
    // One line (podman's own "level=" lines aside); EACCES or EROFS: /app is root's, and read-only.
    expect(
      failed?.stderr
        ?.trim()
        .split("\n")
        .filter((line) => !line.includes("level="))
        .join("\n"),
    ).toMatch(
      /^Configuration error: AUDIT_LOG must be stdout, off, or a file this process can append to \(or create\); received "\/app\/audit\.log \(E(ACCES|ROFS)\)"\.$/,
    );
  });

  it("answers on the emulator, and its HEALTHCHECK passes", async () => {
    const response = await postGraphQL(url, "query($id: ID!) { userAccessTask(id: $id) { app resultStatus } }", { id: DEMO_TASKS[0]?.taskId });
    expect(response.data).toEqual({ userAccessTask: { app: "Slack", resultStatus: "COMPLETED" } });
    expect(await metric(url, 'appfabric_calls_total{operation="BatchGetUserAccessTasks",status="200"}')).toBe(1);
    // The HEALTHCHECK survives the build (--format docker) and runs Node's fetch against /health.
    await expect(podman("healthcheck", "run", name)).resolves.toBeDefined();
  });

  it("on SIGTERM (podman stop), finishes the request in flight and exits 0 within the grace period", async () => {
    const inFlight = postGraphQL(url, "query($id: ID!) { userAccessTask(id: $id) { app } }", { id: DEMO_TASKS[1]?.taskId });
    await expect
      .poll(() => metric(url, 'appfabric_calls_in_flight{operation="BatchGetUserAccessTasks"}'), { timeout: 10_000, interval: 20 })
      .toBeGreaterThan(0);
    // podman sends STOPSIGNAL (SIGTERM) to PID 1, Node, and SIGKILL only after the timeout: exit 0 means
    // the drain ended the process by itself, before that.
    const stopped = podman("stop", "--time", String(SHUTDOWN_GRACE_MS / 1_000 + 10), name);
    expect((await inFlight).data).toEqual({ userAccessTask: { app: "Okta" } });
    await stopped;
    expect(await podman("inspect", "--format", "{{.State.ExitCode}}", name)).toBe("0");
    const logs = (await run("podman", ["logs", name])).stdout;
    expect(logs).toContain("Stopping: draining in-flight requests");
  });

  it("runs as deploy/kubernetes/deployment.yaml says, under podman kube play: its user, a read-only root, no capabilities", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kube-play-"));
    const manifest = await playableDeployment(dir);
    try {
      await run("podman", ["kube", "play", "--network", "host", manifest.path], { env: { ...process.env, CONTAINERS_CONF: manifest.containersConf } });
      await untilHealthy(manifest.url, 30_000);
      const [container] = (await podman("ps", "--filter", `name=${manifest.name}`, "--format", "{{.Names}}"))
        .split("\n")
        .filter((line) => !line.endsWith("-infra"));
      expect(await podman("exec", container ?? "", "id", "-u")).toBe("10001");
      // capabilities: drop [ALL]: the process holds none.
      expect(await podman("exec", container ?? "", "grep", "CapEff", "/proc/1/status")).toMatch(/^CapEff:\s+0+$/);
      await expect(podman("exec", container ?? "", "touch", "/app/written")).rejects.toThrow(/Read-only file system/);
      const response = await postGraphQL(manifest.url, "query($id: ID!) { userAccessTask(id: $id) { app } }", { id: DEMO_TASKS[0]?.taskId });
      expect(response.data).toEqual({ userAccessTask: { app: "Slack" } });
    } finally {
      await run("podman", ["kube", "down", manifest.path]).catch(() => undefined);
    }
  });
});

/**
 * The Deployment as written, but for what a pod on this machine cannot have: one replica, this
 * test's image, the embedded emulator instead of AWS and Redis (the ConfigMap and Secret are not
 * applied), and the host's network (no pod network here), so no port mapping and the probes on the
 * port the service listens on. Its security context, command, probes' paths and grace period are the
 * file's. runc and the ulimits go through a containers.conf, as kube play has no flags for them.
 */
async function playableDeployment(dir: string): Promise<{ path: string; containersConf: string; name: string; url: URL }> {
  type Probe = { httpGet: { path: string; port: string | number } };
  type Deployment = {
    metadata: { name: string };
    spec: {
      replicas: number;
      template: { spec: { containers: Array<Record<string, unknown> & Partial<Record<"livenessProbe" | "readinessProbe" | "startupProbe", Probe>>> } };
    };
  };
  const deployment = parseAllDocuments(readFileSync(new URL("../../deploy/kubernetes/deployment.yaml", import.meta.url), "utf8"))[0]?.toJS() as Deployment;
  const port = await freePort();
  const name = `appfabric-subgraph-play-${randomUUID().slice(0, 8)}`;
  deployment.metadata.name = name;
  deployment.spec.replicas = 1;
  for (const container of deployment.spec.template.spec.containers) {
    container["image"] = TAG;
    container["env"] = [
      { name: "APPFABRIC_EMULATOR", value: "true" },
      { name: "PORT", value: String(port) },
    ];
    container["envFrom"] = [];
    delete container["ports"];
    for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"] as const) {
      const found = container[probe];
      if (found !== undefined) found.httpGet.port = port;
    }
  }
  const path = join(dir, "deployment.yaml");
  await writeFile(path, stringify(deployment));
  const containersConf = join(dir, "containers.conf");
  const limits = ULIMITS.filter((_, index) => index % 2 === 1).map((limit) => `"${limit}"`);
  await writeFile(containersConf, `[containers]\ndefault_ulimits = [${limits.join(", ")}]\n[engine]\nruntime = "${RUNTIME}"\n`);
  return { path, containersConf, name, url: new URL(`http://127.0.0.1:${port}/`) };
}
