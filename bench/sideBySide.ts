import type { ChildProcess } from "node:child_process";
import autocannon from "autocannon";
import { cpuMs, ONE_ID_QUERY, randomId } from "./serviceProcess.js";

export interface RunningVariant {
  name: string;
  url: URL;
  child: ChildProcess;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * Single-id queries against each variant in turn: for each client count a 2 s warm-up, then `rounds`
 * interleaved rounds of `seconds`, so that the machine's noise falls on all variants alike. Prints a
 * Markdown table of medians: ops/s, p50, and CPU ms per operation of each server process (from /proc).
 */
export async function measureSideBySide(
  variants: readonly RunningVariant[],
  options: { clients: readonly number[]; rounds: number; seconds: number },
): Promise<void> {
  console.log(`| clients | variant | ops/s | p50 ms | CPU ms/op | rounds (ops/s) |\n|---|---|---|---|---|---|`);
  for (const clients of options.clients) {
    const figures = new Map<string, { ops: number[]; p50: number[]; cpu: number[] }>();
    for (let round = 0; round <= options.rounds; round++) {
      for (const variant of variants) {
        const cpuBefore = cpuMs(variant.child.pid);
        const result = await autocannon({
          url: variant.url.href,
          connections: clients,
          duration: round === 0 ? 2 : options.seconds,
          requests: [
            {
              method: "POST",
              headers: { "content-type": "application/json" },
              setupRequest: (request) => ({ ...request, body: JSON.stringify({ query: ONE_ID_QUERY, variables: { id: randomId() } }) }),
            },
          ],
        });
        if (round === 0) continue; // warm-up
        const entry = figures.get(variant.name) ?? { ops: [], p50: [], cpu: [] };
        entry.ops.push(result.requests.total / options.seconds);
        entry.p50.push(result.latency.p50);
        entry.cpu.push((cpuMs(variant.child.pid) - cpuBefore) / Math.max(result.requests.total, 1));
        figures.set(variant.name, entry);
      }
    }
    for (const [name, { ops, p50, cpu }] of figures) {
      console.log(`| ${clients} | ${name} | ${Math.round(median(ops))} | ${median(p50)} | ${median(cpu).toFixed(3)} | ${ops.map(Math.round).join(", ")} |`);
    }
  }
}
