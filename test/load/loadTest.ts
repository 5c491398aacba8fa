/**
 * `npm run test:load`: many operations against the service on the emulator, with throttling and
 * server errors injected, to show that every operation is answered (data or a mapped error), that
 * the service never answers 5xx, leaves no promise rejection unhandled, and does not grow.
 *
 * Loopback only, bounded in count (OPERATIONS) and time (TIME_LIMIT_MS); it stops by itself and exits
 * non-zero if any of those fails. Writes bench/results/load.{md,json}.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { Writable } from "node:stream";
import { loadConfig } from "../../src/config/loadConfig.js";
import { AppFabricEmulator } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";
import { ErrorCode } from "../../src/errors/ErrorCode.js";
import { createLogger } from "../../src/observability/createLogger.js";
import { startService } from "../../src/startService.js";

const OPERATIONS = Number(process.env["LOAD_OPERATIONS"] ?? 20_000);
const CONCURRENCY = Number(process.env["LOAD_CONCURRENCY"] ?? 100);
const TIME_LIMIT_MS = 240_000;
const TASKS = 150;
const THROTTLED_SHARE = 0.1;
const SERVER_ERROR_SHARE = 0.05;

let unhandledRejections = 0;
process.on("unhandledRejection", () => {
  unhandledRejections += 1;
});

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const memory = () => {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss: Math.round(rss / 1024 / 1024), heap: Math.round(heapUsed / 1024 / 1024) };
};

const emulator = await AppFabricEmulator.start({
  tasks: syntheticTasks(TASKS),
  latencyMs: 5,
  // Rules are tried in order: the second one sees only the calls the first let through.
  faults: [
    { fault: { kind: "error", status: 429, errorType: "ThrottlingException" }, probability: THROTTLED_SHARE },
    { fault: { kind: "error", status: 500, errorType: "InternalServerException" }, probability: SERVER_ERROR_SHARE / (1 - THROTTLED_SHARE) },
  ],
});
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const config = loadConfig({ PORT: "0", HOST: "127.0.0.1", APPFABRIC_APP_BUNDLE: DEMO_APP_BUNDLE_ARN, APPFABRIC_ENDPOINT: emulator.url.href });
const service = await startService(config, {
  credentials: EMULATOR_CREDENTIALS,
  // Real log lines at info, thrown away: their cost is part of the run.
  logger: createLogger({ level: "info", pretty: false, destination: discard }),
});

const QUERY = "query One($id: ID!) { userAccessTask(id: $id) { taskId resultStatus } }";
const outcomes = new Map<string, number>();
const count = (key: string) => outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
const knownCodes = new Set<string>(Object.values(ErrorCode));
let http5xx = 0;
let answered = 0;
let started = 0;

async function worker(deadline: number): Promise<void> {
  while (started < OPERATIONS && Date.now() < deadline) {
    started += 1;
    const id = syntheticTaskId(Math.floor(Math.random() * TASKS));
    try {
      const response = await fetch(service.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: QUERY, variables: { id } }),
      });
      if (response.status >= 500) http5xx += 1;
      const body = (await response.json()) as { data?: { userAccessTask: unknown }; errors?: Array<{ extensions?: { code?: string } }> };
      const code = body.errors?.[0]?.extensions?.code;
      if (body.data?.userAccessTask) count("data");
      else if (code !== undefined && knownCodes.has(code)) count(code);
      else count("unmapped");
      answered += 1;
    } catch {
      count("no answer");
    }
  }
}

const before = memory();
const began = performance.now();
await Promise.all(Array.from({ length: CONCURRENCY }, () => worker(Date.now() + TIME_LIMIT_MS)));
const seconds = (performance.now() - began) / 1000;
const upstream = emulator.calls.reduce((tally, call) => tally.set(call.status, (tally.get(call.status) ?? 0) + 1), new Map<number, number>());
emulator.reset(); // its call log is the test's, not the service's: out of the "after" figure
const after = memory();
await service.stop();
await emulator.close();

const passed = answered === OPERATIONS && http5xx === 0 && unhandledRejections === 0 && !outcomes.has("unmapped") && !outcomes.has("no answer");
const machine = `${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`;
const report = [
  `Load test: ${OPERATIONS} single-id operations, ${CONCURRENCY} concurrent clients, emulator with 5 ms latency, ${THROTTLED_SHARE * 100} % 429s and ${SERVER_ERROR_SHARE * 100} % 500s injected. Service and load generator in one process (loopback).`,
  `Machine: ${machine}. Command: \`npm run test:load\`.`,
  "",
  "| measure | value |",
  "|---|---|",
  `| operations answered | ${answered} of ${OPERATIONS} |`,
  ...[...outcomes.entries()].sort().map(([outcome, n]) => `| … ${outcome === "data" ? "with data" : `with ${outcome}`} | ${n} |`),
  `| HTTP 5xx from the service | ${http5xx} |`,
  `| unhandled rejections | ${unhandledRejections} |`,
  `| AppFabric calls (200 / 429 / 500) | ${upstream.get(200) ?? 0} / ${upstream.get(429) ?? 0} / ${upstream.get(500) ?? 0} |`,
  `| duration | ${seconds.toFixed(1)} s (${Math.round(answered / seconds)} operations/s) |`,
  `| RSS before → after (after GC) | ${before.rss} MB → ${after.rss} MB |`,
  `| heap used before → after (after GC) | ${before.heap} MB → ${after.heap} MB |`,
  `| verdict | ${passed ? "pass" : "FAIL"} |`,
].join("\n");
writeFileSync("bench/results/load.md", `${report}\n`);
writeFileSync(
  "bench/results/load.json",
  `${JSON.stringify({ machine, operations: OPERATIONS, concurrency: CONCURRENCY, answered, outcomes: Object.fromEntries(outcomes), http5xx, unhandledRejections, upstream: Object.fromEntries(upstream), seconds, memory: { before, after }, passed }, null, 2)}\n`,
);
console.log(report);
process.exit(passed ? 0 : 1);
