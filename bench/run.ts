/**
 * `npm run bench`: what does the service itself spend per operation, next to the limit? In one run,
 * side by side on this machine:
 *   limit     the same server and schema, resolvers answering constants (no upstream);
 *   service   the built service (coalescing on, the default window) against the emulator;
 *   per-op    the service with APPFABRIC_COALESCE_MS=0 (per-operation batching), for calls/op only;
 * single-id queries at 1, 10, 100 and 500 clients, one client against a zero-latency emulator, and
 * 120-id lists at 10 clients. Rows marked with rounds run interleaved (limit, service, limit, …) and
 * report medians. For each server: ops/s, p50/p99, CPU ms per operation from /proc/<pid>/stat (so the
 * load generator's share of the cores does not count), AppFabric calls per operation and peak RSS; for
 * each row, the upstream's own p50 as the emulator measured it. Then a soak at 500 clients.
 * Loopback only; bounded in time; writes bench/results/bench.{md,json}.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import autocannon from "autocannon";
import { Pool } from "undici";
import {
  buildService,
  cpuMs,
  freePort,
  healthy,
  ONE_ID_QUERY,
  randomId,
  startEmulatorProcess,
  startServiceProcess,
  TASKS,
  upstreamCalls,
} from "./serviceProcess.js";

const UPSTREAM_MS = Number(process.env["BENCH_UPSTREAM_MS"] ?? 20);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 8);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SOAK_SECONDS = Number(process.env["BENCH_SOAK_SECONDS"] ?? 60);
const LIST = "query List($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app resultStatus } }";

interface Server {
  name: string;
  url: URL;
  child: ChildProcess;
  emulator?: Emulator;
}

interface Emulator {
  url: string;
  child: ChildProcess;
}

interface Row {
  key: string;
  /** One-client rows only: the client's pause between requests. */
  thinkMs?: number;
  label: string;
  clients: number;
  list: boolean;
  servers: Server[];
  rounds: number;
}

interface Sample {
  row: string;
  server: string;
  round: number;
  ops: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  cpuMsPerOp: number;
  callsPerOp: number | null;
  upstreamP50: number | null;
  peakRssMb: number;
  errors: number;
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

const body = (list: boolean) =>
  JSON.stringify(list ? { query: LIST, variables: { ids: Array.from({ length: 120 }, randomId) } } : { query: ONE_ID_QUERY, variables: { id: randomId() } });

/** Many clients: autocannon. `graphqlErrors` counts answers that carried errors. */
async function loadMany(url: URL, clients: number, list: boolean, seconds: number) {
  let graphqlErrors = 0;
  const result = await autocannon({
    url: url.href,
    connections: clients,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: body(list) }),
        onResponse: (_status, text) => {
          if (text.includes('"errors"')) graphqlErrors += 1;
        },
      },
    ],
  });
  return { ops: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx + graphqlErrors };
}

/**
 * One client, one request at a time, timed to the microsecond (autocannon rounds to whole ms). With
 * `thinkMs`, the client waits that long between requests, so that each one finds the server idle.
 */
async function loadOne(url: URL, seconds: number, thinkMs = 0) {
  const pool = new Pool(url.origin, { connections: 1 });
  const times: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  try {
    while (performance.now() < end) {
      const start = performance.now();
      const response = await pool.request({ path: "/", method: "POST", headers: { "content-type": "application/json" }, body: body(false) });
      const text = await response.body.text();
      times.push(performance.now() - start);
      if (response.statusCode !== 200 || text.includes('"errors"')) errors += 1;
      if (thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, thinkMs));
    }
  } finally {
    await pool.close();
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => Math.round((times[Math.min(times.length - 1, Math.floor(times.length * q))] ?? NaN) * 100) / 100;
  return { ops: times.length, p50: at(0.5), p99: at(0.99), errors };
}

async function upstreamP50(emulator: Emulator | undefined): Promise<number | null> {
  if (emulator === undefined) return null;
  emulator.child.send("times");
  const [message] = (await once(emulator.child, "message")) as [{ p50: number | null }];
  return message.p50 === null ? null : Math.round(message.p50 * 100) / 100;
}

async function measure(server: Server, row: Row, round: number): Promise<Sample> {
  const load = (seconds: number) => (row.clients === 1 ? loadOne(server.url, seconds, row.thinkMs) : loadMany(server.url, row.clients, row.list, seconds));
  await load(1); // warm-up
  const callsBefore = server.emulator ? await upstreamCalls(server.url) : 0;
  await upstreamP50(server.emulator); // forget the warm-up's answer times
  let peakRssMb = 0;
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(server.child.pid))), 200);
  const cpuBefore = cpuMs(server.child.pid);
  const result = await load(SECONDS);
  const cpu = cpuMs(server.child.pid) - cpuBefore;
  clearInterval(sampler);
  peakRssMb = Math.max(peakRssMb, rssMb(server.child.pid));
  const calls = server.emulator ? (await upstreamCalls(server.url)) - callsBefore : null;
  return {
    row: row.key,
    server: server.name,
    round,
    ops: result.ops,
    opsPerSecond: Math.round(result.ops / SECONDS),
    p50: result.p50,
    p99: result.p99,
    cpuMsPerOp: Math.round((cpu / Math.max(result.ops, 1)) * 1000) / 1000,
    callsPerOp: calls === null ? null : Math.round((calls / Math.max(result.ops, 1)) * 1000) / 1000,
    upstreamP50: await upstreamP50(server.emulator),
    peakRssMb,
    errors: result.errors,
  };
}

async function startLimit(): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "bench/limitServer.ts"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return { name: "limit", url: await healthy(new URL(`http://127.0.0.1:${port}/`)), child };
}

const startService = async (name: string, emulator: Emulator, env: Record<string, string> = {}): Promise<Server> => ({
  name,
  emulator,
  ...(await startServiceProcess(emulator.url, env)),
});

// The services run as production does: the build in dist/, with start:prod's flags.
await buildService();
const emulator = await startEmulatorProcess(UPSTREAM_MS);
const instantEmulator = await startEmulatorProcess(0);
const limit = await startLimit();
const service = await startService("service", emulator);
const perOp = await startService("per-op", emulator, { APPFABRIC_COALESCE_MS: "0" });
const instant = await startService("service", instantEmulator);

const ROWS: Row[] = [
  { key: "1", label: `single id × 1, upstream ${UPSTREAM_MS} ms`, clients: 1, list: false, servers: [limit, service], rounds: ROUNDS },
  { key: "1/per-op", label: `single id × 1, upstream ${UPSTREAM_MS} ms`, clients: 1, list: false, servers: [perOp], rounds: 1 },
  // What this machine adds to a request that finds the server idle (the service's requests do: each
  // waits for AppFabric), paid by the limit alone: the same client pausing as long as the upstream takes.
  {
    key: "1/think",
    label: `single id × 1, limit only, client pausing ${UPSTREAM_MS} ms`,
    clients: 1,
    list: false,
    servers: [limit],
    rounds: ROUNDS,
    thinkMs: UPSTREAM_MS,
  },
  { key: "1/0", label: "single id × 1, upstream 0 ms", clients: 1, list: false, servers: [limit, instant], rounds: ROUNDS },
  { key: "10", label: `single id × 10, upstream ${UPSTREAM_MS} ms`, clients: 10, list: false, servers: [limit, service, perOp], rounds: 1 },
  { key: "100", label: `single id × 100, upstream ${UPSTREAM_MS} ms`, clients: 100, list: false, servers: [limit, service], rounds: ROUNDS },
  { key: "100/per-op", label: `single id × 100, upstream ${UPSTREAM_MS} ms`, clients: 100, list: false, servers: [perOp], rounds: 1 },
  { key: "500", label: `single id × 500, upstream ${UPSTREAM_MS} ms`, clients: 500, list: false, servers: [limit, service, perOp], rounds: 1 },
  { key: "list", label: `120-id list × 10, upstream ${UPSTREAM_MS} ms`, clients: 10, list: true, servers: [limit, service], rounds: 1 },
];

const samples: Sample[] = [];
for (const row of ROWS) {
  for (let round = 1; round <= row.rounds; round++) {
    for (const server of row.servers) {
      const sample = await measure(server, row, round);
      samples.push(sample);
      console.log(
        `${row.label} ${server.name} r${round}: ${sample.opsPerSecond} ops/s, p50 ${sample.p50} ms (upstream ${sample.upstreamP50 ?? "–"}), p99 ${sample.p99} ms, ` +
          `CPU ${sample.cpuMsPerOp} ms/op, calls/op ${sample.callsPerOp ?? "–"}, peak RSS ${sample.peakRssMb} MB, errors ${sample.errors}`,
      );
    }
  }
}
emulator.child.send("stats");
const [emulatorStats] = (await once(emulator.child, "message")) as [{ calls: number; connections: number }];

// Soak: 500 clients on the service, RSS each second.
const soakRss: number[] = [];
const soakSampler = setInterval(() => soakRss.push(rssMb(service.child.pid)), 1000);
const soak = await loadMany(service.url, 500, false, SOAK_SECONDS);
clearInterval(soakSampler);
for (const server of [limit, service, perOp, instant]) server.child.kill();
emulator.child.kill();
instantEmulator.child.kill();

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] ?? NaN) : ((sorted[middle - 1] ?? NaN) + (sorted[middle] ?? NaN)) / 2;
};
const round2 = (value: number) => Math.round(value * 100) / 100;
/** The median of one figure over a server's rounds in a row. */
const med = (row: string, server: string, figure: (sample: Sample) => number | null) =>
  round2(median(samples.filter((s) => s.row === row && s.server === server).map((s) => figure(s) ?? NaN)));

const added1 = med("1", "service", (s) => s.p50 - (s.upstreamP50 ?? NaN));
const bound100 = Math.min(
  med("100", "limit", (s) => s.opsPerSecond),
  100 / (UPSTREAM_MS / 1000),
);
const share100 = round2(med("100", "service", (s) => s.opsPerSecond) / bound100);
const cpu100 = [med("100", "limit", (s) => s.cpuMsPerOp), med("100", "service", (s) => s.cpuMsPerOp)] as const;
const cpu1 = [med("1/0", "limit", (s) => s.cpuMsPerOp), med("1/0", "service", (s) => s.cpuMsPerOp)] as const;
const rss500 = med("500", "service", (s) => s.peakRssMb);
const calls100 = med("100", "service", (s) => s.callsPerOp);
const mean = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1));
const soakFirst = mean(soakRss.slice(0, 10));
const soakLast = mean(soakRss.slice(-10));
const targets = [
  {
    target: "one client: p50 over the upstream's own p50 ≤ +2 ms",
    met: added1 <= 2,
    detail:
      `+${added1} ms (median of ${ROUNDS} rounds); the limit's p50 for a request that finds it idle: ` +
      `${med("1/think", "limit", (s) => s.p50)} ms, against ${med("1", "limit", (s) => s.p50)} ms back to back`,
  },
  {
    target: `100 clients: ops/s as a share of min(limit, 100 / ${UPSTREAM_MS} ms) ≥ 0.8`,
    met: share100 >= 0.8,
    detail: `${share100} of ${Math.round(bound100)} (median of ${ROUNDS} rounds)`,
  },
  {
    target: "100 clients: CPU ms per operation ≤ 1.5 × limit",
    met: cpu100[1] <= 1.5 * cpu100[0],
    detail: `${cpu100[1]} against ${cpu100[0]} = ${round2(cpu100[1] / cpu100[0])} × (medians)`,
  },
  {
    target: "one client, zero upstream latency: CPU ms per operation ≤ 1.5 × limit",
    met: cpu1[1] <= 1.5 * cpu1[0],
    detail: `${cpu1[1]} against ${cpu1[0]} = ${round2(cpu1[1] / cpu1[0])} × (medians)`,
  },
  { target: "500 clients: peak RSS < 200 MB", met: rss500 < 200, detail: `${rss500} MB (limit: ${med("500", "limit", (s) => s.peakRssMb)} MB)` },
  {
    target: "100 clients: AppFabric calls per operation ≤ 0.05",
    met: calls100 <= 0.05,
    detail: `${calls100} (per-op: ${med("100/per-op", "per-op", (s) => s.callsPerOp)})`,
  },
  {
    target: `no RSS growth over a ${SOAK_SECONDS} s soak at 500 clients`,
    met: soakLast <= soakFirst * 1.1,
    detail: `first 10 s ${soakFirst} MB, last 10 s ${soakLast} MB (${soak.ops} ops, ${soak.errors} errors)`,
  },
];

const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, shared (other work may run)`;
const rowLabel = (key: string) => ROWS.find((row) => row.key === key)?.label ?? key;
const md = [
  `Benchmark: ${SECONDS} s per measurement after a 1 s warm-up; rows with rounds are interleaved (limit, service, limit, …). ${TASKS} tasks, a random id per request.`,
  `Machine: ${machine}. Command: \`npm run bench\`. All processes (emulators, servers, load generator) share its cores.`,
  "Services: `node dist/index.js`, NODE_ENV=production, LOG_LEVEL=info (lines to /dev/null). CPU: the server process's utime + stime from /proc over the measurement, per operation.",
  "One-client rows use a sequential client timed with performance.now(); the others autocannon (whole ms). Errors: transport errors, non-2xx, answers carrying GraphQL errors.",
  "",
  "| row | server | round | ops/s | p50 ms | upstream p50 ms | p99 ms | CPU ms/op | AppFabric calls/op | peak RSS MB | errors |",
  "|---|---|---|---|---|---|---|---|---|---|---|",
  ...samples.map(
    (s) =>
      `| ${rowLabel(s.row)} | ${s.server} | ${s.round} | ${s.opsPerSecond} | ${s.p50} | ${s.upstreamP50 ?? "–"} | ${s.p99} | ${s.cpuMsPerOp} | ${s.callsPerOp ?? "–"} | ${s.peakRssMb} | ${s.errors} |`,
  ),
  "",
  `Connections the ${UPSTREAM_MS} ms emulator saw opened over the whole run: ${emulatorStats.connections}, for ${emulatorStats.calls} calls (keep-alive reuse).`,
  "",
  "| target | met | measured |",
  "|---|---|---|",
  ...targets.map((t) => `| ${t.target} | ${t.met ? "yes" : "**no**"} | ${t.detail} |`),
].join("\n");
writeFileSync("bench/results/bench.md", `${md}\n`);
writeFileSync(
  "bench/results/bench.json",
  `${JSON.stringify({ machine, upstreamMs: UPSTREAM_MS, seconds: SECONDS, rounds: ROUNDS, samples, emulator: emulatorStats, soak: { seconds: SOAK_SECONDS, rss: soakRss, ops: soak.ops }, targets }, null, 2)}\n`,
);
console.log(`\n${md}`);
process.exit(0);
