/**
 * `npm run bench:http`: which HTTP integration should carry the subgraph? Runs the same Apollo Server
 * behind node:http (standalone), Express 5 and Fastify 5, each in its own process, and drives each
 * with autocannon from this process on loopback: 50 connections, single-id queries, interleaved
 * rounds so that machine noise hits every variant alike. Writes bench/results/http-servers.{md,json}.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import autocannon from "autocannon";

const VARIANTS = ["standalone", "express", "fastify"] as const;
const ROUNDS = 3;
const SECONDS = 5;
const CONNECTIONS = 50;
const BODY = JSON.stringify({ query: 'query { userAccessTask(id: "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21") { taskId app resultStatus } }' });

interface Sample {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

async function measure(variant: string): Promise<Sample> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/httpServerVariant.ts", variant], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout, "data")) as [Buffer];
  const url = `http://127.0.0.1:${chunk.toString().trim()}/`;
  const options = { url, method: "POST" as const, headers: { "content-type": "application/json" }, body: BODY, connections: CONNECTIONS };
  try {
    await autocannon({ ...options, duration: 1 }); // warm-up: JIT, connection pools
    const result = await autocannon({ ...options, duration: SECONDS });
    return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx };
  } finally {
    child.kill();
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

const samples = new Map<string, Sample[]>(VARIANTS.map((variant) => [variant, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const variant of VARIANTS) {
    const sample = await measure(variant);
    samples.get(variant)?.push(sample);
    console.log(`round ${round} ${variant}: ${sample.requestsPerSecond.toFixed(0)} req/s, p50 ${sample.p50} ms, p99 ${sample.p99} ms`);
  }
}

const baseline = median((samples.get("standalone") ?? []).map((s) => s.requestsPerSecond));
const rows = VARIANTS.map((variant) => {
  const list = samples.get(variant) ?? [];
  const rps = median(list.map((s) => s.requestsPerSecond));
  return {
    variant,
    requestsPerSecond: rps,
    ratio: rps / baseline,
    p50: median(list.map((s) => s.p50)),
    p99: median(list.map((s) => s.p99)),
    errors: list.reduce((n, s) => n + s.errors, 0),
  };
});
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
const table = [
  `HTTP integrations, median of ${ROUNDS} interleaved rounds of ${SECONDS} s, ${CONNECTIONS} connections, single-id query, in-memory data.`,
  `Machine: ${machine}. Command: \`npm run bench:http\`.`,
  "",
  "| server | req/s (median) | × standalone | p50 ms | p99 ms | errors |",
  "|---|---|---|---|---|---|",
  ...rows.map((r) => `| ${r.variant} | ${r.requestsPerSecond.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.p50} | ${r.p99} | ${r.errors} |`),
].join("\n");
writeFileSync("bench/results/http-servers.md", `${table}\n`);
writeFileSync(
  "bench/results/http-servers.json",
  `${JSON.stringify({ machine, rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS, rows, samples: Object.fromEntries(samples) }, null, 2)}\n`,
);
console.log(`\n${table}`);
