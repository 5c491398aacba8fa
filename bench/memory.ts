/**
 * `npm run bench:memory`: is RSS growth a leak? Part 1 runs the service in this process (run with
 * --expose-gc) under four 12 s phases of 500 clients and prints heap used after a full GC between them.
 * Part 2 runs the built service at 500 clients for 15 s with V8 heap flags side by side, two rounds,
 * and prints throughput and peak RSS.
 */
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import autocannon from "autocannon";
import { loadConfig } from "../src/config/loadConfig.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../src/emulator/demoData.js";
import { createLogger } from "../src/observability/createLogger.js";
import { startService } from "../src/startService.js";
import { buildService, ONE_ID_QUERY, randomId, startEmulatorProcess, startServiceProcess } from "./serviceProcess.js";

const load = (url: string, seconds: number) =>
  autocannon({
    url,
    connections: 500,
    duration: seconds,
    requests: [
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ query: ONE_ID_QUERY, variables: { id: randomId() } }) }),
      },
    ],
  });

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc (npm run bench:memory does)");
const emulator = await startEmulatorProcess(20);

// Part 1: heap used after a full GC, between phases of load, service in this process.
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
const inProcess = await startService(
  loadConfig({ PORT: "0", HOST: "127.0.0.1", APPFABRIC_APP_BUNDLE: DEMO_APP_BUNDLE_ARN, APPFABRIC_ENDPOINT: emulator.url }),
  {
    credentials: EMULATOR_CREDENTIALS,
    logger: createLogger({ level: "info", pretty: false, destination: discard }),
  },
);
const heapAfterGc = () => {
  gc();
  gc();
  return Math.round(process.memoryUsage().heapUsed / 2 ** 20);
};
const heaps = [heapAfterGc()];
for (let phase = 0; phase < 4; phase++) {
  await load(inProcess.url.href, 12);
  heaps.push(heapAfterGc());
}
console.log(`heap used after full GC, between 12 s phases of 500 clients (MB): ${heaps.join(" → ")}`);
await inProcess.stop();

// Part 2: V8 heap flags, side by side.
await buildService();
const rssMb = (pid: number | undefined) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024);
for (const round of [1, 2]) {
  for (const flags of [[], ["--heap-growing-percent=50"], ["--max-old-space-size=128"], ["--max-semi-space-size=4"]]) {
    const service = await startServiceProcess(emulator.url, {}, flags);
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb(service.child.pid))), 200);
    const result = await load(service.url.href, 15);
    clearInterval(sampler);
    console.log(
      `round ${round} ${flags.join(" ") || "(default)"}: ${Math.round(result.requests.average)} ops/s, p99 ${result.latency.p99} ms, peak RSS ${peak} MB`,
    );
    service.child.kill();
  }
}
emulator.child.kill();
process.exit(0);
