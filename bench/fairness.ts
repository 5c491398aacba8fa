/**
 * `npm run bench:fairness [-- <base-ref>]`: one victim caller polling single ids while one hostile
 * caller floods at full speed with 500-id queries of unknown ids, against the built service on an
 * emulator with an account quota (429 ThrottlingException, no Retry-After, past BENCH_QUOTA calls per
 * second, default 20) and 200 ms answers, as issue 22 measured it (APPFABRIC_MAX_QUEUED_IDS=2000).
 *
 * Setups, in interleaved rounds of BENCH_ROUND_S seconds (default 10), BENCH_ROUNDS rounds (default 3):
 * - victim alone (the budgets at their defaults): the victim's own p99;
 * - flood, budgets out of reach (CALLER_MAX_* at 1e6): the fair line alone;
 * - flood, budgets at their defaults;
 * - with <base-ref>: flood against that commit's build (built in .ab/<ref>, a git worktree, removed after).
 *
 * Both callers are JWT subjects (a key made for the run). Measured per setup (medians over rounds):
 * the victim's success rate, p50 and p99; the hostile's answers (RATE_LIMITED, other); the calls
 * AppFabric throttled; the service's refusals for the fleet's hold (`appfabric_held_calls_total`).
 * Loopback only; each round stops by itself after BENCH_ROUND_S seconds plus the answers under way.
 *
 * Goal (issue 22): with the budgets, the victim succeeds ≥ 99 % with a p99 within 2 × its p99 alone,
 * the hostile gets RATE_LIMITED, and AppFabric never throttles (so the fleet's hold never starts).
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { Agent } from "undici";
import { syntheticTaskId } from "../test/fixtures/syntheticTasks.js";
import { buildService, metricSum, startEmulatorProcess, startServiceProcess } from "./serviceProcess.js";

const ROUND_S = Number(process.env["BENCH_ROUND_S"] ?? 10);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 3);
const QUOTA = Number(process.env["BENCH_QUOTA"] ?? 20);
const UPSTREAM_MS = 200;
const HOSTILE_LOOPS = 8;
const VICTIM_PAUSE_MS = 100;
const ISSUER = "https://bench.example/";
const AUDIENCE = "bench";
const POLL = "query Poll($id: ID!) { userAccessTask(id: $id) { taskId resultStatus } }";
const FLOOD = "query Flood($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }";

const [baseRef] = process.argv.slice(2);

interface Setup {
  name: string;
  flood: boolean;
  env: Record<string, string>;
  entry: string;
}

interface Round {
  victim: { asked: number; ok: number; p50: number; p99: number };
  hostile: { answers: number; rateLimited: number; other: number };
  throttledByAppFabric: number;
  heldRefused: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stats(emulator: ChildProcess): Promise<{ throttled: number }> {
  return new Promise((resolve) => {
    emulator.once("message", (answer) => resolve(answer as { throttled: number }));
    emulator.send("stats");
  });
}

const { privateKey, publicKey } = await generateKeyPair("ES256");
const token = (sub: string) =>
  new SignJWT({ sub }).setProtectedHeader({ alg: "ES256" }).setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("1h").sign(privateKey);
const [victimToken, hostileToken] = await Promise.all([token("victim"), token("hostile")]);
const AUTH_ENV = {
  AUTH_JWT_PUBLIC_KEY: await exportSPKI(publicKey),
  AUTH_JWT_ISSUER: ISSUER,
  AUTH_JWT_AUDIENCE: AUDIENCE,
  APPFABRIC_MAX_QUEUED_IDS: "2000",
  // Unset: the defaults (serviceProcess puts the budgets out of reach for the other benchmarks).
  CALLER_MAX_TASK_IDS_PER_SECOND: "",
  CALLER_MAX_STARTS_PER_MINUTE: "",
};
const OFF = { CALLER_MAX_TASK_IDS_PER_SECOND: "1000000", CALLER_MAX_STARTS_PER_MINUTE: "100000" };

async function runRound(setup: Setup, emulator: { url: string; child: ChildProcess }): Promise<Round> {
  const service = await startServiceProcess(emulator.url, { ...AUTH_ENV, ...setup.env }, undefined, setup.entry);
  const dispatcher = new Agent({ connections: 32 });
  const post = async (query: string, variables: Record<string, unknown>, bearer: string) => {
    const response = await fetch(service.url, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
      body: JSON.stringify({ query, variables }),
      dispatcher,
    } as RequestInit);
    return { status: response.status, body: (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
  };
  try {
    const throttledBefore = (await stats(emulator.child)).throttled;
    const heldBefore = await metricSum(service.url, 'appfabric_held_calls_total{reason="throttled",outcome="refused"}');
    const until = Date.now() + ROUND_S * 1_000;
    const latencies: number[] = [];
    let asked = 0;
    let ok = 0;
    const victim = async () => {
      while (Date.now() < until) {
        const started = performance.now();
        asked += 1;
        const answer = await post(POLL, { id: syntheticTaskId(Math.floor(Math.random() * 10_000)) }, victimToken).catch(() => undefined);
        latencies.push(performance.now() - started);
        if (answer?.status === 200 && answer.body.errors === undefined) ok += 1;
        await sleep(VICTIM_PAUSE_MS);
      }
    };
    const hostile = { answers: 0, rateLimited: 0, other: 0 };
    const flood = async () => {
      while (Date.now() < until) {
        const ids = Array.from({ length: 500 }, () => syntheticTaskId(10_000 + Math.floor(Math.random() * 1e9)));
        const answer = await post(FLOOD, { ids }, hostileToken).catch(() => undefined);
        hostile.answers += 1;
        if (answer?.body.errors?.some((error) => error.extensions?.code === "RATE_LIMITED")) hostile.rateLimited += 1;
        else hostile.other += 1;
      }
    };
    await Promise.all([victim(), ...(setup.flood ? Array.from({ length: HOSTILE_LOOPS }, flood) : [])]);
    const sorted = latencies.sort((a, b) => a - b);
    return {
      victim: { asked, ok, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) },
      hostile,
      throttledByAppFabric: (await stats(emulator.child)).throttled - throttledBefore,
      heldRefused: (await metricSum(service.url, 'appfabric_held_calls_total{reason="throttled",outcome="refused"}')) - heldBefore,
    };
  } finally {
    await dispatcher.close();
    service.child.kill();
    await new Promise((resolve) => service.child.once("exit", resolve));
    // Let AppFabric's quota second and the emulator's answers under way pass before the next setup.
    await sleep(1_500);
  }
}

const dir = baseRef === undefined ? undefined : `.ab/${baseRef.replace(/[^\w.-]/g, "_")}`;
if (dir !== undefined && baseRef !== undefined) {
  rmSync(dir, { recursive: true, force: true });
  execFileSync("git", ["worktree", "add", "--detach", dir, baseRef], { stdio: "ignore" });
}
try {
  if (dir !== undefined) execFileSync("npx", ["tsc", "-p", `${dir}/tsconfig.build.json`, "--outDir", `${dir}/dist`], { stdio: "inherit" });
  await buildService();
  const setups: Setup[] = [
    { name: "victim alone (budgets: defaults)", flood: false, env: {}, entry: "dist/index.js" },
    { name: "flood, budgets out of reach", flood: true, env: OFF, entry: "dist/index.js" },
    { name: "flood, budgets: defaults", flood: true, env: {}, entry: "dist/index.js" },
    ...(dir === undefined ? [] : [{ name: `flood, before (${baseRef})`, flood: true, env: {}, entry: `${dir}/dist/index.js` }]),
  ];
  const emulator = await startEmulatorProcess(UPSTREAM_MS, QUOTA);
  const results = new Map<string, Round[]>(setups.map((setup) => [setup.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const setup of setups) {
      const result = await runRound(setup, emulator);
      results.get(setup.name)?.push(result);
      process.stdout.write(`round ${round + 1} ${setup.name}: ${JSON.stringify(result)}\n`);
    }
  }
  emulator.child.kill();
  const summary = setups.map(({ name }) => {
    const rounds = results.get(name) ?? [];
    return {
      setup: name,
      victimSuccessPercent: median(rounds.map((r) => (100 * r.victim.ok) / Math.max(1, r.victim.asked))),
      victimP50Ms: Math.round(median(rounds.map((r) => r.victim.p50))),
      victimP99Ms: Math.round(median(rounds.map((r) => r.victim.p99))),
      hostileAnswers: median(rounds.map((r) => r.hostile.answers)),
      hostileRateLimited: median(rounds.map((r) => r.hostile.rateLimited)),
      appFabricThrottled: median(rounds.map((r) => r.throttledByAppFabric)),
      fleetHoldRefusals: median(rounds.map((r) => r.heldRefused)),
    };
  });
  console.table(summary);
  const alone = summary[0]?.victimP99Ms ?? NaN;
  const withBudgets = summary[2];
  if (withBudgets !== undefined) {
    const ratio = withBudgets.victimP99Ms / alone;
    const verdict =
      withBudgets.victimSuccessPercent >= 99 && ratio <= 2 && withBudgets.hostileRateLimited > 0 && withBudgets.appFabricThrottled === 0 ? "met" : "NOT met";
    console.log(
      `Goal ${verdict}: victim ${withBudgets.victimSuccessPercent.toFixed(1)} % ok, p99 ${withBudgets.victimP99Ms} ms = ${ratio.toFixed(2)} × alone; ` +
        `hostile RATE_LIMITED ${withBudgets.hostileRateLimited}; AppFabric throttled ${withBudgets.appFabricThrottled} calls`,
    );
  }
  await writeFile(
    "bench/results/fairness.json",
    `${JSON.stringify({ command: `npm run bench:fairness${baseRef === undefined ? "" : ` -- ${baseRef}`}`, roundSeconds: ROUND_S, rounds: ROUNDS, quota: QUOTA, upstreamMs: UPSTREAM_MS, summary }, null, 2)}\n`,
  );
} finally {
  if (dir !== undefined) execFileSync("git", ["worktree", "remove", "--force", dir], { stdio: "ignore" });
}
process.exit(0);
