/**
 * `npm run bench:tracing [clients…]`: what tracing costs. The same build (`node dist/index.js`, as
 * production runs it) three times side by side against one emulator (BENCH_UPSTREAM_MS, default 20):
 * tracing off; on, every trace sampled, exported in protobuf to a small OTLP receiver in this process
 * (which answers 200 and counts what it gets); and on with 10 % of traces sampled. Single-id queries,
 * BENCH_ROUNDS (3) interleaved rounds of BENCH_SECONDS (5) per client count (default 1 and 100).
 * Loopback only; bounded in time.
 */
import { createServer } from "node:http";
import { buildService, startEmulatorProcess, startServiceProcess } from "./serviceProcess.js";
import { measureSideBySide } from "./sideBySide.js";

const counts = process.argv.slice(2).map(Number);
const CLIENTS = counts.length > 0 ? counts : [1, 100];
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const UPSTREAM_MS = Number(process.env["BENCH_UPSTREAM_MS"] ?? 20);

let exports = 0;
let exportedBytes = 0;
const receiver = createServer((request, response) => {
  request.on("data", (chunk: Buffer) => (exportedBytes += chunk.length));
  request.on("end", () => {
    exports += 1;
    response.writeHead(200, { "content-type": "application/x-protobuf" }).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const endpoint = `http://127.0.0.1:${(receiver.address() as { port: number }).port}`;

await buildService();
const emulator = await startEmulatorProcess(UPSTREAM_MS);
const variants = {
  "tracing off": {},
  "tracing on, all sampled": { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint },
  "tracing on, 10 % sampled": { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" },
};
const servers = await Promise.all(Object.entries(variants).map(async ([name, env]) => ({ name, ...(await startServiceProcess(emulator.url, env)) })));
await measureSideBySide(servers, { clients: CLIENTS, rounds: ROUNDS, seconds: SECONDS });
console.log(`\nThe receiver took ${exports} exports, ${Math.round(exportedBytes / 1024)} KB in all.`);
// The services first (each flushes its last spans to the receiver as it stops), then the rest.
await Promise.all(servers.map(({ child }) => new Promise((resolve) => child.once("exit", resolve).kill())));
emulator.child.kill();
receiver.close();
process.exit(0);
