/**
 * `npm run bench:seal`: the CPU one result costs on the Redis path (written and read back), in clear and
 * sealed (AES-256-GCM, see ResultSeal), side by side in interleaved rounds. A hit in a replica's memory
 * never seals or opens anything; this is what a Redis write plus a Redis read add.
 */
import { randomBytes } from "node:crypto";
import { ResultSeal } from "../src/fleet/ResultSeal.js";
import { encodeCachedResult, decodeCachedResult } from "../src/loaders/cachedItem.js";
const seal = new ResultSeal({ current: randomBytes(32) }, "appfabric-subgraph:0123456789abcdef:");
const item = {
  taskId: "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21",
  app: "Slack",
  tenantId: "T01",
  tenantDisplayName: "Example",
  resultStatus: "COMPLETED" as const,
  email: "jordan.rivers@example.com",
  userId: "U01EXAMPLE",
  userFullName: "Jordan Rivers",
  userFirstName: "Jordan",
  userLastName: "Rivers",
  userStatus: "ACTIVE",
};
const N = 50_000;
const rounds: Array<{ plain: number; sealed: number }> = [];
for (let r = 0; r < 5; r++) {
  let t = process.cpuUsage();
  for (let i = 0; i < N; i++) decodeCachedResult(item.taskId, encodeCachedResult(item.taskId, { item, freshUntil: i }));
  const plain = process.cpuUsage(t);
  t = process.cpuUsage();
  for (let i = 0; i < N; i++)
    decodeCachedResult(item.taskId, seal.open(item.taskId, seal.seal(item.taskId, encodeCachedResult(item.taskId, { item, freshUntil: i }))) ?? null);
  const sealed = process.cpuUsage(t);
  rounds.push({ plain: (plain.user + plain.system) / N, sealed: (sealed.user + sealed.system) / N });
}
const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const plain = median(rounds.map((round) => round.plain));
const sealed = median(rounds.map((round) => round.sealed));
console.log(
  `CPU µs per result written to Redis and read back (median of 5 interleaved rounds of ${N}): plain ${plain.toFixed(2)}, sealed ${sealed.toFixed(2)} (+${(sealed - plain).toFixed(2)})`,
);
