/**
 * `npm run bench:window`: the coalescing window's trade-off. The built service at 100 single-id
 * clients, 20 ms upstream, with APPFABRIC_COALESCE_MS of 1, 2 and 3, two interleaved rounds of 8 s.
 */
import autocannon from "autocannon";
import { buildService, ONE_ID_QUERY, randomId, startEmulatorProcess, startServiceProcess, upstreamCalls } from "./serviceProcess.js";

await buildService();
const emulator = await startEmulatorProcess(20);
for (const round of [1, 2]) {
  for (const window of ["1", "2", "3"]) {
    const service = await startServiceProcess(emulator.url, { APPFABRIC_COALESCE_MS: window });
    const options = {
      url: service.url.href,
      connections: 100,
      requests: [
        {
          method: "POST" as const,
          headers: { "content-type": "application/json" },
          setupRequest: (request: object) => ({ ...request, body: JSON.stringify({ query: ONE_ID_QUERY, variables: { id: randomId() } }) }),
        },
      ],
    };
    await autocannon({ ...options, duration: 2 });
    const before = await upstreamCalls(service.url);
    const result = await autocannon({ ...options, duration: 8 });
    const calls = (await upstreamCalls(service.url)) - before;
    console.log(
      `round ${round}, window ${window} ms: ${Math.round(result.requests.average)} ops/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, calls/op ${(calls / result.requests.total).toFixed(3)}`,
    );
    service.child.kill();
  }
}
emulator.child.kill();
