/**
 * `npm run bench`: how close does the service come to the limit, and how few AppFabric calls does it
 * make? In one run, side by side on this machine:
 *   limit     the same server and schema, resolvers answering constants (no upstream);
 *   per-op    this service with APPFABRIC_COALESCE_MS=0 (per-operation batching only);
 *   coalesced this service with coalescing on (the default window);
 * for single-id queries at 1, 10, 100 and 500 concurrent clients and 120-id list queries at 10.
 * The emulator (BENCH_UPSTREAM_MS of latency, default 20) and each server run as their own processes;
 * autocannon drives them from this one, a random id per request so de-duplication flatters nothing.
 * Then a soak: 500 clients on the coalesced service for BENCH_SOAK_SECONDS (60), RSS sampled each
 * second. Loopback only; bounded in time; writes bench/results/bench.{md,json}.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import autocannon from "autocannon";
import { buildService, freePort, healthy, ONE_ID_QUERY, randomId, startEmulatorProcess, startServiceProcess, TASKS, upstreamCalls } from "./serviceProcess.js";

const UPSTREAM_MS = Number(process.env["BENCH_UPSTREAM_MS"] ?? 20);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 10);
const SOAK_SECONDS = Number(process.env["BENCH_SOAK_SECONDS"] ?? 60);
const LIST = "query List($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app resultStatus } }";

const ROWS = [
  { name: "single id", clients: 1, list: false },
  { name: "single id", clients: 10, list: false },
  { name: "single id", clients: 100, list: false },
  { name: "single id", clients: 500, list: false },
  { name: "120-id list", clients: 10, list: true },
] as const;

interface Server {
  name: string;
  url: URL;
  child: ChildProcess;
}

interface Result {
  server: string;
  row: string;
  clients: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  callsPerOp: number | null;
  peakRssMb: number;
  errors: number;
}

async function startLimit(): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, ["--import", "tsx", "bench/limitServer.ts"], {
    env: { ...process.env, PORT: String(port) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return { name: "limit", url: await healthy(new URL(`http://127.0.0.1:${port}/`)), child };
}

function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
}

/** Load for `seconds`; `graphqlErrors` counts answers that carried errors (HTTP 200 or not). */
async function load(server: Server, clients: number, list: boolean, seconds: number) {
  let graphqlErrors = 0;
  const result = await autocannon({
    url: server.url.href,
    connections: clients,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify(
            list ? { query: LIST, variables: { ids: Array.from({ length: 120 }, randomId) } } : { query: ONE_ID_QUERY, variables: { id: randomId() } },
          ),
        }),
        onResponse: (_status, body) => {
          if (body.includes('"errors"')) graphqlErrors += 1;
        },
      },
    ],
  });
  return { ...result, graphqlErrors };
}

async function measure(server: Server, row: (typeof ROWS)[number]): Promise<Result> {
  await load(server, row.clients, row.list, 2); // warm-up
  const callsBefore = await upstreamCalls(server.url);
  let peakRssMb = 0;
  const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, rssMb(server.child.pid))), 200);
  const result = await load(server, row.clients, row.list, SECONDS);
  clearInterval(sampler);
  peakRssMb = Math.max(peakRssMb, rssMb(server.child.pid));
  const ops = result.requests.total;
  const calls = (await upstreamCalls(server.url)) - callsBefore;
  return {
    server: server.name,
    row: row.name,
    clients: row.clients,
    opsPerSecond: Math.round(ops / SECONDS),
    p50: result.latency.p50,
    p99: result.latency.p99,
    callsPerOp: server.name === "limit" ? null : Math.round((calls / ops) * 1000) / 1000,
    peakRssMb,
    errors: result.errors + result.non2xx + result.graphqlErrors,
  };
}

// The services run as production does: the build in dist/ (the limit server and emulator via tsx).
await buildService();
const { url: emulatorUrl, child: emulator } = await startEmulatorProcess(UPSTREAM_MS);
const stats = async () => {
  emulator.send("stats");
  const [message] = (await once(emulator, "message")) as [{ calls: number; connections: number }];
  return message;
};

const startService = async (name: string, coalesceMs: string): Promise<Server> => ({
  name,
  ...(await startServiceProcess(emulatorUrl, { APPFABRIC_COALESCE_MS: coalesceMs })),
});
const servers = [await startLimit(), await startService("per-op", "0"), await startService("coalesced", "2")];
const results: Result[] = [];
for (const row of ROWS) {
  for (const server of servers) {
    const result = await measure(server, row);
    results.push(result);
    console.log(
      `${row.name} × ${row.clients} ${server.name}: ${result.opsPerSecond} ops/s, p50 ${result.p50} ms, p99 ${result.p99} ms, calls/op ${result.callsPerOp ?? "–"}, peak RSS ${result.peakRssMb} MB`,
    );
  }
}
const emulatorStats = await stats();

// Soak: 500 clients on the coalesced service, RSS each second.
const coalesced = servers[2] as Server;
const soakRss: number[] = [];
const soakSampler = setInterval(() => soakRss.push(rssMb(coalesced.child.pid)), 1000);
const soak = await load(coalesced, 500, false, SOAK_SECONDS);
clearInterval(soakSampler);
const mean = (values: number[]) => Math.round(values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1));
const soakFirst = mean(soakRss.slice(0, 10));
const soakLast = mean(soakRss.slice(-10));

for (const server of servers) server.child.kill();
emulator.kill();

// Targets, as ratios of figures from this one run.
const at = (server: string, clients: number, list = false) =>
  results.find((r) => r.server === server && r.clients === clients && (r.row === "120-id list") === list);
const c100 = at("coalesced", 100);
const l100 = at("limit", 100);
const c500 = at("coalesced", 500);
const l500 = at("limit", 500);
const bound100 = Math.min(l100?.opsPerSecond ?? 0, 100 / (UPSTREAM_MS / 1000));
const targets = [
  {
    target: "calls/op, 100 single-id clients ≤ 0.05",
    value: c100?.callsPerOp ?? NaN,
    met: (c100?.callsPerOp ?? 1) <= 0.05,
    detail: `${c100?.callsPerOp} (per-op: ${at("per-op", 100)?.callsPerOp})`,
  },
  {
    target: `ops/s at 100 ≥ 0.8 × min(limit, 100 / ${UPSTREAM_MS} ms) = ${Math.round(0.8 * bound100)}`,
    value: c100?.opsPerSecond ?? 0,
    met: (c100?.opsPerSecond ?? 0) >= 0.8 * bound100,
    detail: `${c100?.opsPerSecond} = ${((c100?.opsPerSecond ?? 0) / bound100).toFixed(2)} × ${Math.round(bound100)}`,
  },
  {
    target: "ops/s at 500 ≥ 0.7 × limit",
    value: c500?.opsPerSecond ?? 0,
    met: (c500?.opsPerSecond ?? 0) >= 0.7 * (l500?.opsPerSecond ?? 0),
    detail: `${c500?.opsPerSecond} = ${((c500?.opsPerSecond ?? 0) / (l500?.opsPerSecond ?? 1)).toFixed(2)} × ${l500?.opsPerSecond}`,
  },
  { target: `p50 at 100 ≤ ${UPSTREAM_MS} + 5 ms`, value: c100?.p50 ?? 0, met: (c100?.p50 ?? Infinity) <= UPSTREAM_MS + 5, detail: `${c100?.p50} ms` },
  { target: `p99 at 100 ≤ ${UPSTREAM_MS} + 25 ms`, value: c100?.p99 ?? 0, met: (c100?.p99 ?? Infinity) <= UPSTREAM_MS + 25, detail: `${c100?.p99} ms` },
  { target: "peak RSS at 500 clients < 200 MB", value: c500?.peakRssMb ?? 0, met: (c500?.peakRssMb ?? Infinity) < 200, detail: `${c500?.peakRssMb} MB` },
  {
    target: `no RSS growth over a ${SOAK_SECONDS} s soak at 500 clients`,
    value: soakLast - soakFirst,
    met: soakLast <= soakFirst * 1.1,
    detail: `first 10 s ${soakFirst} MB, last 10 s ${soakLast} MB (${soak.requests.total} ops, ${soak.errors + soak.non2xx + soak.graphqlErrors} errors)`,
  },
];

const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, shared (other work may run)`;
const md = [
  `Benchmark: ${SECONDS} s per row after a 2 s warm-up, emulator latency ${UPSTREAM_MS} ms, ${TASKS} tasks, a random id per request.`,
  `Machine: ${machine}. Command: \`npm run bench\`. All processes (emulator, three servers, autocannon) share its cores.`,
  "Services: `node dist/index.js`, NODE_ENV=production, LOG_LEVEL=info (lines to /dev/null). Errors: transport errors, non-2xx and answers carrying GraphQL errors.",
  "",
  "| query | clients | server | ops/s | p50 ms | p99 ms | AppFabric calls/op | peak RSS MB | errors |",
  "|---|---|---|---|---|---|---|---|---|",
  ...results.map(
    (r) => `| ${r.row} | ${r.clients} | ${r.server} | ${r.opsPerSecond} | ${r.p50} | ${r.p99} | ${r.callsPerOp ?? "–"} | ${r.peakRssMb} | ${r.errors} |`,
  ),
  "",
  `Connections to AppFabric opened by both services over the whole run: ${emulatorStats.connections}, for ${emulatorStats.calls} calls (keep-alive reuse).`,
  "",
  "| target | met | measured |",
  "|---|---|---|",
  ...targets.map((t) => `| ${t.target} | ${t.met ? "yes" : "**no**"} | ${t.detail} |`),
].join("\n");
writeFileSync("bench/results/bench.md", `${md}\n`);
writeFileSync(
  "bench/results/bench.json",
  `${JSON.stringify({ machine, upstreamMs: UPSTREAM_MS, seconds: SECONDS, results, emulator: emulatorStats, soak: { seconds: SOAK_SECONDS, rss: soakRss, ops: soak.requests.total }, targets }, null, 2)}\n`,
);
console.log(`\n${md}`);
process.exit(0);
