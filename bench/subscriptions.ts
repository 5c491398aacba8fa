/**
 * `npm run bench:subscriptions`: N clients (1, 100, 1,000) watch the same 10 tasks until every one is
 * final, once subscribed (one WebSocket each) and once polling `userAccessTasks` every second (as the
 * page did before), side by side against the same built service and emulator (20 ms answers, tasks
 * final 1–4 s after they start).
 *
 * Measured per run: AppFabric BatchGet calls, the service's peak RSS and CPU time, and the event
 * latency of every (client, task): from the moment the emulator turns the task final to the moment the
 * client holds an answer that says so. Loopback only; each run stops by itself within 30 s.
 *
 * Goal (issue 13): with subscriptions, calls do not grow with N (one poll per interval), and p99 event
 * latency ≤ interval + 100 ms at 1,000 subscribers.
 */
import { writeFile } from "node:fs/promises";
import type { ChildProcess } from "node:child_process";
import { createClient } from "graphql-ws";
import WebSocket from "ws";
import { buildService, cpuMs, startEmulatorProcess, startServiceProcess, upstreamCalls } from "./serviceProcess.js";

const INTERVAL_MS = 1_000;
const SIZES = (process.env["BENCH_SUBSCRIBERS"] ?? "1,100,1000").split(",").map(Number);
const RUN_LIMIT_MS = 30_000;
const FINAL = new Set(["COMPLETED", "FAILED", "EXPIRED"]);
const LIST = "userAccessTasksUpdated(ids: $ids) { taskId resultStatus }";

type Mode = "subscription" | "polling";
interface Run {
  mode: Mode;
  clients: number;
  calls: number;
  peakRssMb: number;
  cpuMs: number;
  latency: { p50: number; p99: number; max: number };
  missed: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function ask<T>(emulator: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    emulator.once("message", (answer) => resolve(answer as T));
    emulator.send(message);
  });
}

async function startTasks(url: URL, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let lookup = 0; ids.length < count; lookup++) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `mutation { startUserAccessTasks(email: "bench${lookup}@example.com") { taskId } }` }),
    });
    const body = (await response.json()) as { data: { startUserAccessTasks: Array<{ taskId: string | null }> } };
    ids.push(...body.data.startUserAccessTasks.flatMap((item) => item.taskId ?? []));
  }
  return ids.slice(0, count);
}

/** One client: resolves with when it first held a final status for each task (Date.now ms). */
function subscriber(url: URL, ids: string[]): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const client = createClient({ url: url.href.replace(/^http/, "ws"), webSocketImpl: WebSocket, retryAttempts: 0 });
  return new Promise((resolve, reject) => {
    client.subscribe(
      { query: `subscription ($ids: [ID!]!) { ${LIST} }`, variables: { ids } },
      {
        next: (event) => {
          const now = Date.now();
          for (const task of (event.data as { userAccessTasksUpdated: Array<{ taskId: string; resultStatus: string } | null> }).userAccessTasksUpdated) {
            if (task !== null && FINAL.has(task.resultStatus) && !seen.has(task.taskId)) seen.set(task.taskId, now);
          }
        },
        error: (error: unknown) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => {
          void client.dispose();
          resolve(seen);
        },
      },
    );
  });
}

/** One page polling every second (its first poll at a random point of the first second), until all final. */
async function poller(url: URL, ids: string[], deadline: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  await new Promise((resolve) => setTimeout(resolve, Math.random() * INTERVAL_MS));
  while (seen.size < ids.length && Date.now() < deadline) {
    const started = Date.now();
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        query: `query ($ids: [ID!]!) { userAccessTasksUpdated: userAccessTasks(ids: $ids) { taskId resultStatus } }`,
        variables: { ids },
      }),
    });
    const body = (await response.json()) as { data?: { userAccessTasksUpdated: Array<{ taskId: string; resultStatus: string } | null> } };
    const now = Date.now();
    for (const task of body.data?.userAccessTasksUpdated ?? []) {
      if (task !== null && FINAL.has(task.resultStatus) && !seen.has(task.taskId)) seen.set(task.taskId, now);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, INTERVAL_MS - (Date.now() - started))));
  }
  return seen;
}

async function run(mode: Mode, clients: number, service: { url: URL; child: ChildProcess }, emulator: ChildProcess): Promise<Run> {
  const ids = await startTasks(service.url, 10);
  const { started } = await ask<{ started: Array<{ taskId: string; finishesAt: number }> }>(emulator, "started");
  const finishesAt = new Map(started.map((task) => [task.taskId, task.finishesAt]));
  const callsBefore = await upstreamCalls(service.url);
  const cpuBefore = cpuMs(service.child.pid);
  let peakRss = 0;
  const sampler = setInterval(() => {
    void fetch(new URL("/metrics", service.url))
      .then((response) => response.text())
      .then((text) => (peakRss = Math.max(peakRss, Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? 0))));
  }, 200);
  const deadline = Date.now() + RUN_LIMIT_MS;
  const watchers = Array.from({ length: clients }, () => (mode === "subscription" ? subscriber(service.url, ids) : poller(service.url, ids, deadline)));
  const results = await Promise.all(watchers);
  clearInterval(sampler);
  const latencies: number[] = [];
  let missed = 0;
  for (const seen of results) {
    for (const id of ids) {
      const at = seen.get(id);
      if (at === undefined) missed += 1;
      else latencies.push(at - (finishesAt.get(id) ?? NaN));
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    mode,
    clients,
    calls: (await upstreamCalls(service.url)) - callsBefore,
    peakRssMb: Math.round(peakRss / 1e6),
    cpuMs: Math.round(cpuMs(service.child.pid) - cpuBefore),
    latency: { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99), max: latencies.at(-1) ?? NaN },
    missed,
  };
}

await buildService();
const emulator = await startEmulatorProcess(20);
const service = await startServiceProcess(emulator.url, { MAX_CONNECTIONS: "4096", LOG_LEVEL: "warn", SUBSCRIPTION_WATCH_INTERVAL_MS: String(INTERVAL_MS) });
const runs: Run[] = [];
try {
  for (const clients of SIZES) {
    for (const mode of ["subscription", "polling"] as const) {
      const result = await run(mode, clients, service, emulator.child);
      runs.push(result);
      console.log(JSON.stringify(result));
    }
  }
} finally {
  service.child.kill("SIGTERM");
  emulator.child.kill();
}

const rows = runs.map(
  (r) => `| ${r.clients} | ${r.mode} | ${r.calls} | ${r.latency.p50} / ${r.latency.p99} / ${r.latency.max} | ${r.peakRssMb} | ${r.cpuMs} | ${r.missed} |`,
);
const table = [
  "| clients | how | AppFabric calls | event latency p50 / p99 / max (ms) | service peak RSS (MB) | service CPU (ms) | not seen |",
  "|---|---|---|---|---|---|---|",
  ...rows,
].join("\n");
const verdict = runs
  .filter((r) => r.mode === "subscription")
  .map((r) => `${r.clients} subscribers: ${r.calls} calls, p99 ${r.latency.p99} ms (goal ≤ ${INTERVAL_MS + 100})`)
  .join("; ");
await writeFile(
  "bench/results/subscriptions.md",
  `# npm run bench:subscriptions\n\nN clients watch the same 10 tasks (final 1–4 s after they start) until all are final; emulator answers in 20 ms; SUBSCRIPTION_WATCH_INTERVAL_MS=${INTERVAL_MS}; polling clients ask every second from a random start. Latency: task turns final at the emulator → a client holds an answer saying so. One run each, on ${new Date().toISOString().slice(0, 10)}, Node ${process.version}.\n\n${table}\n\n${verdict}\n`,
);
console.log(table);
console.log(verdict);
