import { readFileSync } from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { once } from "node:events";
import { fork } from "node:child_process";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../src/emulator/demoData.js";
import { syntheticTaskId } from "../test/fixtures/syntheticTasks.js";

/** Shared by the bench commands: the emulator process, the built service as a process, a random id. */

export const TASKS = 10_000;
export const ONE_ID_QUERY = "query One($id: ID!) { userAccessTask(id: $id) { taskId app resultStatus } }";
export const randomId = () => syntheticTaskId(Math.floor(Math.random() * TASKS));

/** The emulator (bench/emulatorProcess.ts) with `latencyMs`; resolves with its URL. */
export async function startEmulatorProcess(latencyMs: number, callsPerSecondQuota?: number): Promise<{ url: string; child: ChildProcess }> {
  const args = [String(latencyMs), ...(callsPerSecondQuota === undefined ? [] : [String(callsPerSecondQuota)])];
  const child = fork("bench/emulatorProcess.ts", args, { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const [{ url }] = (await once(child, "message")) as [{ url: string }];
  return { url, child };
}

export async function freePort(): Promise<number> {
  const probe = createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Linux clock ticks per second, the unit of utime and stime in /proc/<pid>/stat. */
const CLOCK_TICKS = 100;

/** CPU time (user + system, ms) a process has used so far, from /proc: its own, whoever else shares the cores. */
export function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // After "pid (comm) ", utime and stime are fields 12 and 13 (0-based 11 and 12).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Waits until the server on `url` answers /health. */
export async function healthy(url: URL): Promise<URL> {
  for (let tries = 0; tries < 300; tries++) {
    try {
      if ((await fetch(new URL("/health", url))).ok) return url;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url.href} never became healthy`);
}

/** The Node flags `npm run start:prod` runs the service with, read from package.json so they never drift. */
export const PRODUCTION_NODE_FLAGS: string[] = (() => {
  const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts;
  return (
    /node ((?:--\S+ )*)dist\/index\.js/
      .exec(scripts["start:prod"] ?? "")?.[1]
      ?.trim()
      .split(" ")
      .filter(Boolean) ?? []
  );
})();

/**
 * The built service (`node dist/index.js` with start:prod's flags unless `nodeFlags` are given,
 * production, logs at info to /dev/null, caller budgets out of reach) against the emulator. The result cache is off unless `env`
 * turns it on: these benchmarks measure what every operation costs on its way to AppFabric (batching,
 * HTTP, memory, tracing); `npm run bench:fleet` measures the cache.
 */
export async function startServiceProcess(
  emulatorUrl: string,
  env: Record<string, string> = {},
  nodeFlags: string[] = PRODUCTION_NODE_FLAGS,
  /** Another build to run instead (side-by-side comparisons of two builds). */
  entry = "dist/index.js",
): Promise<{ url: URL; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeFlags, entry], {
    env: {
      PATH: process.env["PATH"] ?? "",
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      APPFABRIC_APP_BUNDLE: DEMO_APP_BUNDLE_ARN,
      APPFABRIC_ENDPOINT: emulatorUrl,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
      RESULT_CACHE: "off",
      // One load generator stands in for many callers: no caller budget may shape what is measured
      // (npm run bench:fairness measures the budgets).
      CALLER_MAX_TASK_IDS_PER_SECOND: "1000000",
      CALLER_MAX_STARTS_PER_MINUTE: "100000",
      ...env,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return { url: await healthy(new URL(`http://127.0.0.1:${port}/`)), child };
}

/** The sum of a service's /metrics samples whose line starts with `prefix` (a name, or a name and labels). */
export async function metricSum(url: URL, prefix: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  return text
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

/** The sum of appfabric_calls_total in a service's /metrics. */
export async function upstreamCalls(url: URL): Promise<number> {
  return metricSum(url, "appfabric_calls_total{");
}

/** Builds dist/ so that the service runs as production does. */
export async function buildService(): Promise<void> {
  const build = spawn("npm", ["run", "build"], { stdio: "ignore" });
  if ((await once(build, "exit"))[0] !== 0) throw new Error("npm run build failed");
}
