/**
 * `npm run bench:fleet`: the same polling workload against 1 and 3 replicas of the built service,
 * with and without Redis, and against 1 replica with the result cache off (the service before issue
 * 14), in interleaved rounds.
 *
 * Workload: CLIENTS clients (default 300), each polling `userAccessTasks` for the same TASKS_POLLED
 * IN_PROGRESS tasks (default 5) once a second from a random phase, spread round-robin over the
 * replicas, for ROUND_S seconds (default 10) per configuration and round. Emulator answers take 20 ms.
 *
 * Measured per configuration (medians over ROUNDS rounds, default 3): AppFabric calls per second,
 * client latency p50/p99, Redis round trips per operation (all replicas' `redis_round_trips_total`
 * over operations answered), and the replicas' CPU time per operation. Loopback only; a round stops by
 * itself after ROUND_S seconds plus the answers under way.
 *
 * Cold start (issue 23), in each round before the steady polling: all CLIENTS clients ask at once for
 * TASKS_POLLED other (COMPLETED) tasks nobody has fetched; counted: the AppFabric calls that burst costs.
 * One setup keeps Redis values in clear (`RESULT_CACHE_SHARED=plain`), to show what sealing costs per
 * operation side by side.
 *
 * Goals: with Redis, 3 replicas make no more AppFabric calls than 1 (steady, issue 14, and cold, issue
 * 23), p50 grows ≤ 1 ms; sealing adds ≤ 5 % CPU per operation on the cached path.
 */
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import type { ChildProcess } from "node:child_process";
import { Agent } from "undici";
import { startRedisServer, type RedisServer } from "../test/support/redisServer.js";
import { syntheticTaskId } from "../test/fixtures/syntheticTasks.js";
import { buildService, cpuMs, metricSum, startEmulatorProcess, startServiceProcess } from "./serviceProcess.js";

const CLIENTS = Number(process.env["BENCH_CLIENTS"] ?? 300);
const TASKS_POLLED = Number(process.env["BENCH_TASKS"] ?? 5);
const ROUND_S = Number(process.env["BENCH_ROUND_S"] ?? 10);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
const POLL_MS = 1_000;
const QUERY = "query Poll($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }";
/** Synthetic tasks cycle COMPLETED, IN_PROGRESS, FAILED, EXPIRED: 4k + 1 stays IN_PROGRESS. */
const IDS = Array.from({ length: TASKS_POLLED }, (_, k) => syntheticTaskId(4 * k + 1));
/**
 * Each round's cold burst asks for tasks no earlier round did (the emulator keeps 10,000), COMPLETED
 * ones: kept 5 minutes, so that a burst lasting longer than an IN_PROGRESS result's 1 s of freshness
 * counts first fetches only, never a due refresh.
 */
const coldIds = (round: number) => Array.from({ length: TASKS_POLLED }, (_, k) => syntheticTaskId(4 * (TASKS_POLLED * (round + 1) + k)));

interface Setup {
  name: string;
  replicas: number;
  redis: boolean;
  cache: boolean;
  /** Redis values in clear (RESULT_CACHE_SHARED=plain) instead of sealed. */
  plain?: boolean;
}
const SETUPS: Setup[] = [
  { name: "1 replica, cache off (before)", replicas: 1, redis: false, cache: false },
  { name: "1 replica, in-process cache", replicas: 1, redis: false, cache: true },
  { name: "3 replicas, in-process cache", replicas: 3, redis: false, cache: true },
  { name: "1 replica, Redis", replicas: 1, redis: true, cache: true },
  { name: "3 replicas, Redis", replicas: 3, redis: true, cache: true },
  { name: "3 replicas, Redis, values in clear", replicas: 3, redis: true, cache: true, plain: true },
];

interface Round {
  callsPerSecond: number;
  p50: number;
  p99: number;
  redisTripsPerOp: number;
  cpuMsPerOp: number;
  ops: number;
  errors: number;
  /** AppFabric calls made for CLIENTS clients asking at once for tasks nobody has fetched. */
  coldCalls: number;
}

/** REDIS_ENCRYPTION_KEY for every replica of this run. */
const ROUND_KEY = randomBytes(32).toString("base64");

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function ask<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once("message", (answer) => resolve(answer as T));
    child.send(message);
  });
}

async function runRound(setup: Setup, round: number, emulator: ChildProcess, emulatorUrl: string, redis: RedisServer): Promise<Round> {
  const env: Record<string, string> = { RESULT_CACHE: setup.cache ? "on" : "off" };
  if (setup.redis) {
    env["REDIS_URL"] = redis.url;
    // As production must: results sealed in Redis (one key for the round's replicas), unless the setup says plain.
    if (setup.plain === true) env["RESULT_CACHE_SHARED"] = "plain";
    else env["REDIS_ENCRYPTION_KEY"] = ROUND_KEY;
  }
  const replicas = await Promise.all(Array.from({ length: setup.replicas }, () => startServiceProcess(emulatorUrl, env)));
  const dispatcher = new Agent({ connections: 64 });
  try {
    if (setup.redis) {
      for (const replica of replicas) {
        for (let tries = 0; (await metricSum(replica.url, "redis_up ")) !== 1; tries++) {
          if (tries > 100) throw new Error("a replica never reached Redis");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    }
    const body = JSON.stringify({ query: QUERY, variables: { ids: IDS } });
    const poll = async (url: URL, pollBody = body): Promise<number | Error> => {
      const started = performance.now();
      try {
        const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: pollBody, dispatcher } as RequestInit);
        const answer = (await response.json()) as { errors?: unknown };
        if (answer.errors !== undefined) return new Error(JSON.stringify(answer.errors).slice(0, 200));
        return performance.now() - started;
      } catch (error) {
        return error instanceof Error ? error : new Error(String(error));
      }
    };
    // Warm-up: one poll per replica (connections, JIT, first results).
    await Promise.all(replicas.map((replica) => poll(replica.url)));
    // Cold start: every client at once, on tasks nobody has fetched.
    const coldBefore = (await ask<{ calls: number }>(emulator, "stats")).calls;
    const coldBody = JSON.stringify({ query: QUERY, variables: { ids: coldIds(round) } });
    const cold = await Promise.all(
      Array.from({ length: CLIENTS }, (_, client) => poll(replicas[client % replicas.length]?.url ?? new URL("http://x"), coldBody)),
    );
    const coldCalls = (await ask<{ calls: number }>(emulator, "stats")).calls - coldBefore;
    const coldErrors = cold.filter((result) => result instanceof Error).length;
    const callsBefore = (await ask<{ calls: number }>(emulator, "stats")).calls;
    const tripsBefore = (await Promise.all(replicas.map((replica) => metricSum(replica.url, "redis_round_trips_total")))).reduce((a, b) => a + b, 0);
    const cpuBefore = replicas.map((replica) => cpuMs(replica.child.pid));
    const latencies: number[] = [];
    let errors = coldErrors;
    const stopAt = performance.now() + ROUND_S * 1_000;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        const url = replicas[client % replicas.length]?.url;
        if (url === undefined) return;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * POLL_MS));
        while (performance.now() < stopAt) {
          const next = performance.now() + POLL_MS;
          const result = await poll(url);
          if (result instanceof Error) errors += 1;
          else latencies.push(result);
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - performance.now())));
        }
      }),
    );
    const calls = (await ask<{ calls: number }>(emulator, "stats")).calls - callsBefore;
    const trips = (await Promise.all(replicas.map((replica) => metricSum(replica.url, "redis_round_trips_total")))).reduce((a, b) => a + b, 0) - tripsBefore;
    const cpu = replicas.reduce((sum, replica, index) => sum + cpuMs(replica.child.pid) - (cpuBefore[index] ?? 0), 0);
    const sorted = latencies.sort((a, b) => a - b);
    const ops = latencies.length + errors;
    return {
      callsPerSecond: calls / ROUND_S,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      redisTripsPerOp: trips / ops,
      cpuMsPerOp: cpu / ops,
      ops,
      errors,
      coldCalls,
    };
  } finally {
    await dispatcher.close();
    for (const replica of replicas) replica.child.kill("SIGTERM");
    await Promise.all(
      replicas.map((replica) => new Promise((resolve) => (replica.child.exitCode === null ? replica.child.once("exit", resolve) : resolve(null)))),
    );
    // The next round starts with an empty Redis.
    if (setup.redis) {
      await redis.kill();
      await redis.restart();
    }
  }
}

await buildService();
const { url: emulatorUrl, child: emulator } = await startEmulatorProcess(20);
const redis = await startRedisServer();
const results = new Map<string, Round[]>();
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of SETUPS) {
      const result = await runRound(setup, round, emulator, emulatorUrl, redis);
      results.set(setup.name, [...(results.get(setup.name) ?? []), result]);
      console.log(`round ${round + 1} ${setup.name}: ${JSON.stringify(result)}`);
    }
  }
} finally {
  await redis.stop();
  emulator.kill();
}

const rows = SETUPS.map((setup) => {
  const rounds = results.get(setup.name) ?? [];
  const pick = (key: keyof Round) => median(rounds.map((round) => round[key]));
  return {
    setup,
    callsPerSecond: pick("callsPerSecond"),
    p50: pick("p50"),
    p99: pick("p99"),
    trips: pick("redisTripsPerOp"),
    cpu: pick("cpuMsPerOp"),
    ops: pick("ops"),
    cold: pick("coldCalls"),
    errors: rounds.reduce((sum, round) => sum + round.errors, 0),
  };
});
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const table = [
  `| setup | AppFabric calls/s | cold-start calls | p50 (ms) | p99 (ms) | Redis round trips/op | replica CPU ms/op | ops per round | errors |`,
  `|---|---|---|---|---|---|---|---|---|`,
  ...rows.map(
    (row) =>
      `| ${row.setup.name} | ${fmt(row.callsPerSecond, 2)} | ${fmt(row.cold, 0)} | ${fmt(row.p50, 2)} | ${fmt(row.p99, 2)} | ${row.setup.redis ? fmt(row.trips, 3) : "–"} | ${fmt(row.cpu, 3)} | ${fmt(row.ops, 0)} | ${row.errors} |`,
  ),
].join("\n");
const byName = (name: string) => rows.find((row) => row.setup.name === name);
const one = byName("1 replica, in-process cache");
const oneRedis = byName("1 replica, Redis");
const threeAlone = byName("3 replicas, in-process cache");
const three = byName("3 replicas, Redis");
const threePlain = byName("3 replicas, Redis, values in clear");
const verdict =
  one === undefined || three === undefined || threeAlone === undefined || oneRedis === undefined || threePlain === undefined
    ? ""
    : [
        `\n\nGoal, calls: 3 replicas with Redis make ${fmt(three.callsPerSecond, 2)} calls/s against ${fmt(one.callsPerSecond, 2)} for 1 replica: ${three.callsPerSecond <= one.callsPerSecond + 0.05 ? "met" : "NOT met"} (without Redis, 3 replicas make ${fmt(threeAlone.callsPerSecond, 2)}).`,
        `Goal, p50 ≤ +1 ms: 3 replicas with Redis ${fmt(three.p50, 2)} ms against 1 replica ${fmt(one.p50, 2)} ms (${fmt(three.p50 - one.p50, 2)} ms: ${three.p50 - one.p50 <= 1 ? "met" : "NOT met"}).`,
        `What Redis itself adds: ${fmt(oneRedis.p50 - one.p50, 2)} ms at 1 replica, ${fmt(three.p50 - threeAlone.p50, 2)} ms at 3 (the rest is three processes sharing two cores with the load generator).`,
        `Goal, cold start: ${CLIENTS} clients at once on tasks nobody has fetched cost ${fmt(three.cold, 0)} calls at 3 replicas with Redis, ${fmt(oneRedis.cold, 0)} at 1 (${three.cold <= oneRedis.cold ? "met" : "NOT met"}; ${fmt(threeAlone.cold, 0)} at 3 without Redis).`,
        `Goal, sealing ≤ +5 % CPU/op: ${fmt(three.cpu, 3)} ms sealed against ${fmt(threePlain.cpu, 3)} ms in clear (${fmt((100 * (three.cpu - threePlain.cpu)) / threePlain.cpu, 1)} %: ${three.cpu <= threePlain.cpu * 1.05 ? "met" : "NOT met"}).`,
      ].join(" ");
const report = `# npm run bench:fleet\n\nCold start: ${CLIENTS} clients at once on ${TASKS_POLLED} COMPLETED tasks nobody has fetched, once per round before the polling. ${CLIENTS} clients polling the same ${TASKS_POLLED} IN_PROGRESS tasks once a second, ${ROUND_S} s per configuration and round, medians of ${ROUNDS} interleaved rounds; emulator answers in 20 ms; every replica a built service (\`node dist/index.js\`) on this 2-core machine, with the load generator and Redis on the same cores.\n\n${table}${verdict}\n`;
console.log(`\n${report}`);
await writeFile("bench/results/fleet.md", report);
