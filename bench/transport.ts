/**
 * `npm run bench:transport`: the AppFabric client's own cost per call, over Node's global `fetch`
 * against the undici Pool it uses (`createPoolSend`). One process, the emulator in another (zero
 * latency), the same client (signing, retry layer, answer checks) with each HTTP send in turn:
 * interleaved rounds of sequential calls, CPU time of this process per call (process.cpuUsage) and
 * wall time per call, medians over rounds. Loopback only; bounded; writes bench/results/transport.md.
 */
import { writeFileSync } from "node:fs";
import { AppFabricClient } from "../src/appfabric/AppFabricClient.js";
import { createPoolSend, type SendHttp } from "../src/appfabric/createPoolSend.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../src/emulator/demoData.js";
import { randomId, startEmulatorProcess } from "./serviceProcess.js";

const CALLS = Number(process.env["BENCH_CALLS"] ?? 2000);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);

/** The transport's former HTTP path: the global fetch, its Response read as text. */
const fetchSend: SendHttp = async ({ url, headers, body, signal }) => {
  const response = await fetch(url, { method: "POST", headers, body, signal });
  const text = await response.text();
  return { status: response.status, headers: Object.fromEntries(response.headers), text };
};

const emulator = await startEmulatorProcess(0);
const endpoint = new URL(emulator.url);
const pool = createPoolSend(endpoint, { connections: 1 });
const clientWith = (send: SendHttp) =>
  new AppFabricClient({ endpoint, region: "us-east-1", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, credentials: EMULATOR_CREDENTIALS, send });
const variants = { fetch: clientWith(fetchSend), "undici Pool": clientWith(pool.send) };

const results: Record<string, { cpuUs: number[]; wallUs: number[] }> = {};
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, client] of Object.entries(variants)) {
    const calls = round === 0 ? 300 : CALLS; // round 0 warms both up and is not counted
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let call = 0; call < calls; call++) await client.batchGetUserAccessTasks([randomId()]);
    const wall = performance.now() - start;
    const used = process.cpuUsage(cpu);
    if (round === 0) continue;
    const entry = (results[name] ??= { cpuUs: [], wallUs: [] });
    entry.cpuUs.push((used.user + used.system) / calls);
    entry.wallUs.push((wall * 1000) / calls);
  }
}
await pool.close();
emulator.child.kill();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const base = results["fetch"];
const lines = [
  `${ROUNDS} interleaved rounds of ${CALLS} sequential BatchGetUserAccessTasks calls (1 id) to the emulator (0 ms), Node ${process.version}. Command: \`npm run bench:transport\`.`,
  "",
  "| HTTP | CPU µs/call (median) | wall µs/call (median) | CPU vs fetch |",
  "|---|---|---|---|",
  ...Object.entries(results).map(
    ([name, { cpuUs, wallUs }]) =>
      `| ${name} | ${Math.round(median(cpuUs))} | ${Math.round(median(wallUs))} | ${(median(cpuUs) / median(base?.cpuUs ?? [NaN])).toFixed(2)} |`,
  ),
];
writeFileSync("bench/results/transport.md", `${lines.join("\n")}\n`);
console.log(lines.join("\n"));
process.exit(0);
