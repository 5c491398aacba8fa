import { createHash, randomBytes } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { AppFabricEmulator } from "../../src/emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { startService, type RunningService } from "../../src/startService.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";
import { collectLogs } from "../support/collectLogs.js";
import { postGraphQL, type GraphQLResponse } from "../support/harness.js";
import { startRedisServer, type RedisServer } from "../support/redisServer.js";
import { metric } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";

/**
 * Three replicas of the service, one AppFabric (the emulator) and one real redis-server (with a
 * password: every test goes through AUTH). The replicas share one clock that the test moves by hand,
 * so freshness and holds never depend on how fast this machine is. IN_PROGRESS results are fresh for
 * 30 s of that clock (Redis keeps them for 35 s of real time, far longer than any test takes); the
 * watcher polls as seldom, so that no replica warns at start about the two settings.
 */
const FRESH_MS = 30_000;
const QUERY = `query Poll($id: ID!) { userAccessTask(id: $id) { taskId resultStatus app } }`;
/** What a frontend polls: every task of one lookup in one operation. */
const POLL_ALL = `query PollAll($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId resultStatus } }`;
type PollAll = { userAccessTasks: Array<{ taskId: string; resultStatus: string } | null> };
/** Synthetic tasks cycle COMPLETED, IN_PROGRESS, FAILED, EXPIRED: n % 4 === 1 is IN_PROGRESS. */
const inProgress = (k: number) => syntheticTaskId(4 * k + 1);

/** The deployment's key for results in Redis (REDIS_ENCRYPTION_KEY), and the one it rotates to. */
const KEY = randomBytes(32).toString("base64");
const NEXT_KEY = randomBytes(32).toString("base64");
/** Results in clear (RESULT_CACHE_SHARED=plain): the decoder's own checks, with nothing sealed. */
const PLAIN_VALUES = { REDIS_ENCRYPTION_KEY: "", RESULT_CACHE_SHARED: "plain" };
/** A sealed value: version, key id, base64url of IV, ciphertext and tag. */
const SEALED = /^s1:[0-9a-f]{8}:[\w-]+$/;

let redis: RedisServer;
let emulator: AppFabricEmulator;
let replicas: RunningService[];
let logs: Array<ReturnType<typeof collectLogs>>;
let clock: number;

async function startReplicas(env: Record<string, string> = {}): Promise<void> {
  logs = [0, 1, 2].map(() => collectLogs("info"));
  replicas = await Promise.all(
    logs.map((log) =>
      startService(
        {
          ...testConfig(
            {},
            {
              RESULT_CACHE: "on",
              RESULT_CACHE_IN_PROGRESS_MS: String(FRESH_MS),
              SUBSCRIPTION_WATCH_INTERVAL_MS: String(FRESH_MS),
              REDIS_URL: redis.url,
              REDIS_ENCRYPTION_KEY: KEY,
              ...env,
            },
          ),
          upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint: emulator.url },
        },
        { credentials: EMULATOR_CREDENTIALS, logger: log.logger, now: () => clock },
      ),
    ),
  );
  // Every replica shares through Redis before the test begins.
  await vi.waitFor(async () => {
    for (const replica of replicas) expect(await metric(replica.url, "redis_up")).toBe(1);
  });
}

/** The deployment's key space in Redis (`<prefix><hash>:`), as its first result key shows it. */
async function scopeOf(): Promise<string> {
  expect((await poll(replicas[0] as RunningService, syntheticTaskId(4))).data?.userAccessTask?.resultStatus).toBe("COMPLETED");
  let keys: string[] = [];
  await vi.waitFor(async () => {
    keys = await redis.keys("*:r:*");
    expect(keys.length).toBeGreaterThan(0);
  });
  return (keys[0] ?? "").replace(/r:[^:]+$/, "");
}

const batchCalls = () => emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks");
const poll = (replica: RunningService, id: string) =>
  postGraphQL<{ userAccessTask: { taskId: string; resultStatus: string } | null }>(replica.url, QUERY, { id });

/** `pollers` clients on every replica, all at once, each polling every id in one operation. */
async function pollEverywhere(ids: readonly string[], pollers = 5): Promise<Array<GraphQLResponse<PollAll>>> {
  return Promise.all(replicas.flatMap((replica) => Array.from({ length: pollers }, () => postGraphQL<PollAll>(replica.url, POLL_ALL, { ids }))));
}

function expectAllAnswered(responses: ReadonlyArray<GraphQLResponse<PollAll>>, ids: readonly string[]): void {
  for (const response of responses) {
    expect(response.errors).toBeUndefined();
    expect(response.data?.userAccessTasks).toEqual(ids.map((taskId) => ({ taskId, resultStatus: "IN_PROGRESS" })));
  }
}

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis.stop();
});
beforeEach(async () => {
  clock = Date.parse("2026-11-22T12:00:00Z");
  emulator = await AppFabricEmulator.start({ tasks: syntheticTasks(40) });
});
afterEach(async () => {
  await Promise.all(replicas.map((replica) => replica.stop()));
  await emulator.close();
  // Whatever a test left in Redis, the next starts empty.
  for (const key of await redis.keys()) expect(key.startsWith("appfabric-subgraph:")).toBe(true);
  await redis.kill();
  await redis.restart();
});

describe("three replicas through one Redis", () => {
  it("pollers spread over the replicas cost one AppFabric call per freshness interval in all", async () => {
    await startReplicas();
    const ids = [inProgress(0), inProgress(1), inProgress(2)];
    // The clients poll every task of a lookup in one operation, as the example page does.
    // First ask, at one replica: one call (three ids).
    expectAllAnswered([await postGraphQL<PollAll>(replicas[0]?.url ?? new URL("http://x"), POLL_ALL, { ids })], ids);
    expect(batchCalls()).toHaveLength(1);
    for (let interval = 0; interval < 3; interval++) {
      // 15 clients on three replicas, each polling three tasks, within one interval: no call.
      expectAllAnswered(await pollEverywhere(ids), ids);
      expectAllAnswered(await pollEverywhere(ids), ids);
      expect(batchCalls()).toHaveLength(1 + interval);
      // The interval ends: the first poller anywhere refreshes, once, for the fleet.
      clock += FRESH_MS;
      expectAllAnswered(await pollEverywhere(ids), ids);
      expect(batchCalls()).toHaveLength(2 + interval);
    }
    // Every call carried the three ids once.
    for (const call of batchCalls()) expect([...call.taskIdList].sort()).toEqual([...ids].sort());
    // Per replica, the lookups say where the answers came from.
    const served = await Promise.all(replicas.map((replica) => metric(replica.url, 'result_cache_lookups_total{outcome="miss"}')));
    expect(served.reduce((sum, value) => sum + value, 0)).toBe(4 * 3);
  });

  it("asks AppFabric once per task for the whole fleet, from the first miss: 30 pollers on three replicas, 10 unfinished tasks", async () => {
    await startReplicas();
    const ids = Array.from({ length: 10 }, (_, k) => inProgress(k));
    const timesAsked = () => ids.map((id) => batchCalls().filter((call) => call.taskIdList.includes(id)).length);
    for (let interval = 1; interval <= 3; interval++) {
      // Ten clients per replica ask for all ten tasks at once: nobody has them yet (then, only stale ones).
      expectAllAnswered(await pollEverywhere(ids, 10), ids);
      expect(timesAsked()).toEqual(ids.map(() => interval));
      clock += FRESH_MS;
    }
    // The replicas that lost the first claims waited for the winner's result in Redis.
    const awaited = await Promise.all(replicas.map((replica) => metric(replica.url, 'result_cache_lookups_total{outcome="awaited"}')));
    expect(awaited.reduce((sum, value) => sum + value, 0)).toBeGreaterThan(0);
  });

  it("a task nobody could fetch is fetched by the next replica that asks, not waited for", async () => {
    await startReplicas();
    // The first replica's call fails: its claim is given back without a result.
    emulator.injectFault({ fault: { kind: "error", status: 500, errorType: "InternalServerException" }, times: 3 });
    const [failed, served] = await Promise.all([poll(replicas[0] as RunningService, inProgress(0)), poll(replicas[1] as RunningService, inProgress(0))]);
    // Whichever went first failed; the other fetched it itself (at once or once the claim was free).
    const codes = [failed, served].map((answer) => answer.errors?.[0]?.extensions?.["code"] ?? answer.data?.userAccessTask?.resultStatus);
    expect(codes.sort()).toEqual(["IN_PROGRESS", "UPSTREAM_ERROR"]);
    expect(await redis.keys("*:c:*")).toEqual([]);
  });

  it("keeps results in Redis under the prefix, with a TTL, sealed: no task id, name or email in the key or the value", async () => {
    await emulator.close();
    emulator = await AppFabricEmulator.start({ tasks: [...syntheticTasks(40), ...DEMO_TASKS] });
    await startReplicas();
    const person = DEMO_TASKS.find((task) => task.email !== undefined && task.userFullName !== undefined && task.resultStatus === "COMPLETED");
    const taskId = person?.taskId ?? "";
    const ask = `query($id: ID!) { userAccessTask(id: $id) { taskId resultStatus email userFullName app } }`;
    const first = await postGraphQL<{ userAccessTask: Record<string, string> }>(replicas[0]?.url ?? new URL("http://x"), ask, { id: taskId });
    expect(first.data?.userAccessTask).toMatchObject({ email: person?.email, userFullName: person?.userFullName });
    await vi.waitFor(async () => expect(await redis.keys("*:r:*")).toHaveLength(1));
    const [key] = await redis.keys("*:r:*");
    expect(key).toMatch(new RegExp(`^appfabric-subgraph:[0-9a-f]{16}:r:${taskId}$`));
    // The bundle's ARN is not in the key names.
    expect(key).not.toContain("arn:");
    const value = (await redis.get(key ?? "")) ?? "";
    expect(value).toMatch(SEALED);
    for (const clear of [taskId, person?.email ?? "?", person?.userFullName ?? "?", person?.app ?? "?", "COMPLETED"]) expect(value).not.toContain(clear);
    expect(await redis.send("PTTL", key ?? "")).toBeGreaterThan(290_000);
    // The other replicas open it: the same answer, no second call.
    for (const replica of replicas.slice(1)) expect((await postGraphQL(replica.url, ask, { id: taskId })).data).toEqual(first.data);
    expect(batchCalls()).toHaveLength(1);
  });

  it("keeps results in clear under RESULT_CACHE_SHARED=plain: the task id in the key only, nothing unread in the value", async () => {
    await startReplicas(PLAIN_VALUES);
    const completed = syntheticTaskId(0);
    expect((await poll(replicas[0] as RunningService, completed)).data?.userAccessTask?.resultStatus).toBe("COMPLETED");
    await vi.waitFor(async () => expect(await redis.keys("*:r:*")).toHaveLength(1));
    const [key] = await redis.keys("*:r:*");
    const value = JSON.parse((await redis.get(key ?? "")) ?? "null") as { t: string; f: number; i: Record<string, unknown> };
    expect(value.t).toBe(completed);
    expect(value.i).toEqual({ app: "App 0", tenantId: "tenant-0", resultStatus: "COMPLETED" });
    expect(value.f).toBe(clock + 300_000);
    for (const replica of replicas.slice(1)) expect((await poll(replica, completed)).data?.userAccessTask?.resultStatus).toBe("COMPLETED");
    expect(batchCalls()).toHaveLength(1);
    // Said once per replica, at start.
    for (const log of logs) expect(log.lines().filter((line) => String(line["msg"]).includes("in clear"))).toHaveLength(1);
  });

  it("answers nothing from Redis it cannot open: clear, tampered, moved to another task, sealed by another deployment or with a key it lacks", async () => {
    await startReplicas();
    const scope = await scopeOf();
    const [a, b, c, d, e] = [inProgress(0), inProgress(1), inProgress(2), inProgress(3), inProgress(5)];
    const url = replicas[0]?.url ?? new URL("http://x");
    // A sealed value of each of a, b, c, d written by the fleet.
    await postGraphQL<PollAll>(url, POLL_ALL, { ids: [a, b, c, d] });
    await vi.waitFor(async () => expect(await redis.keys(`${scope}r:*`)).toHaveLength(5));
    const sealedOf = async (taskId: string) => (await redis.get(`${scope}r:${taskId}`)) ?? "";
    const calls = batchCalls().length;
    // a: a result in clear, as a writer without the key would plant it.
    await redis.set(`${scope}r:${a}`, JSON.stringify({ t: a, f: clock + 500, i: { app: "Forged", resultStatus: "COMPLETED" } }));
    // b: one character of its sealed value changed.
    const original = await sealedOf(b);
    const flipped = original.slice(0, -3) + (original.at(-3) === "A" ? "B" : "A") + original.slice(-2);
    await redis.set(`${scope}r:${b}`, flipped);
    // c: d's sealed value, moved under c's key.
    await redis.set(`${scope}r:${c}`, await sealedOf(d));
    // e: sealed with this key by a deployment with another key space (another prefix), moved here.
    const other = await startService(
      {
        ...testConfig(
          {},
          {
            RESULT_CACHE: "on",
            RESULT_CACHE_IN_PROGRESS_MS: String(FRESH_MS),
            SUBSCRIPTION_WATCH_INTERVAL_MS: String(FRESH_MS),
            REDIS_URL: redis.url,
            REDIS_ENCRYPTION_KEY: KEY,
            REDIS_KEY_PREFIX: "appfabric-subgraph:b:",
          },
        ),
        upstream: { kind: "aws", appBundleIdentifier: DEMO_APP_BUNDLE_ARN, endpoint: emulator.url },
      },
      { credentials: EMULATOR_CREDENTIALS, logger: collectLogs("info").logger, now: () => clock },
    );
    replicas.push(other);
    await vi.waitFor(async () => expect(await metric(other.url, "redis_up")).toBe(1));
    expect((await poll(other, e)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    await vi.waitFor(async () => expect(await redis.keys(`appfabric-subgraph:b:*:r:${e}`)).toHaveLength(1));
    const [otherKey] = await redis.keys(`appfabric-subgraph:b:*:r:${e}`);
    await redis.set(`${scope}r:${e}`, (await redis.get(otherKey ?? "")) ?? "");
    const callsBefore = batchCalls().length;
    // Every one of them is a miss at the fleet: asked of AppFabric, answered as AppFabric says, counted.
    const answer = await postGraphQL<{ userAccessTasks: Array<{ taskId: string; app: string }> }>(
      replicas[1]?.url ?? new URL("http://x"),
      `query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app } }`,
      { ids: [a, b, c, e] },
    );
    expect(answer.data?.userAccessTasks).toEqual([a, b, c, e].map((taskId) => ({ taskId, app: `App ${parseInt(taskId.slice(-12), 16)}` })));
    expect(batchCalls().length).toBeGreaterThan(callsBefore);
    expect([...(batchCalls().at(-1)?.taskIdList ?? [])].sort()).toEqual([a, b, c, e].sort());
    expect(await metric(replicas[1]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="results"}')).toBe(4);
    expect(calls).toBeGreaterThan(0);
  });

  it("rotates keys: the previous key still opens what it sealed, a replica without it asks AppFabric", async () => {
    await startReplicas();
    const id = inProgress(0);
    expect((await poll(replicas[0] as RunningService, id)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    await vi.waitFor(async () => expect(await redis.keys("*:r:*")).toHaveLength(1));
    await Promise.all(replicas.map((replica) => replica.stop()));
    // Rotation: the new key seals, the old one only opens.
    await startReplicas({ REDIS_ENCRYPTION_KEY: NEXT_KEY, REDIS_ENCRYPTION_KEY_PREVIOUS: KEY });
    expect((await poll(replicas[1] as RunningService, id)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(batchCalls()).toHaveLength(1);
    await Promise.all(replicas.map((replica) => replica.stop()));
    // After it, a replica given only the new key cannot open the old value: one call, and a rejection.
    await startReplicas({ REDIS_ENCRYPTION_KEY: NEXT_KEY });
    expect((await poll(replicas[2] as RunningService, id)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(batchCalls()).toHaveLength(2);
    expect(await metric(replicas[2]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="results"}')).toBe(1);
    // What it wrote is sealed with the new key, which the others open.
    await vi.waitFor(async () => expect((await redis.get((await redis.keys("*:r:*"))[0] ?? "")) ?? "").not.toBe(""));
    expect((await poll(replicas[0] as RunningService, id)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(batchCalls()).toHaveLength(2);
  });

  it("never answers with a value in Redis this service did not write: forged, moved, oversized, or fresh for too long", async () => {
    // In clear, so that these reach the decoder's own checks (sealed, none of them would open).
    await startReplicas(PLAIN_VALUES);
    const scope = await scopeOf();
    const real = syntheticTaskId(0); // COMPLETED, app "App 0"
    const forged = (taskId: string, f: number, app = "Forged") => JSON.stringify({ t: taskId, f, i: { app, resultStatus: "IN_PROGRESS" } });
    // Fresh far beyond what IN_PROGRESS allows (and with no TTL): not an answer.
    await redis.set(`${scope}r:${real}`, forged(real, clock + 3_600_000));
    // Another task's value, moved under this key.
    const moved = syntheticTaskId(2);
    await redis.set(`${scope}r:${moved}`, forged(real, clock + 500));
    // 1 MB under a key: never read whole, never an answer.
    const big = syntheticTaskId(3);
    await redis.set(`${scope}r:${big}`, forged(big, clock + 500, "x".repeat(1_000_000)));
    const answer = await postGraphQL<{ userAccessTasks: Array<{ taskId: string; app: string; resultStatus: string }> }>(
      replicas[0]?.url ?? new URL("http://x"),
      `query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app resultStatus } }`,
      { ids: [real, moved, big] },
    );
    expect(answer.data?.userAccessTasks).toEqual([
      { taskId: real, app: "App 0", resultStatus: "COMPLETED" },
      { taskId: moved, app: "App 2", resultStatus: "FAILED" },
      { taskId: big, app: "App 3", resultStatus: "EXPIRED" },
    ]);
    expect(await metric(replicas[0]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="results"}')).toBe(3);
    // A value within bounds (another replica's clock a little ahead) is served, but never past its status's freshness.
    const ahead = inProgress(5);
    await redis.set(`${scope}r:${ahead}`, forged(ahead, clock + FRESH_MS + 900, "Ahead"));
    expect((await poll(replicas[1] as RunningService, ahead)).data?.userAccessTask).toMatchObject({ app: "Ahead" });
    clock += FRESH_MS + 1;
    await redis.set(`${scope}r:${ahead}`, "");
    expect((await poll(replicas[1] as RunningService, ahead)).data?.userAccessTask).toMatchObject({ app: `App ${4 * 5 + 1}`, resultStatus: "IN_PROGRESS" });
  });

  it("refreshes a result stale for longer than any refresh takes, whatever claim is left in Redis, and clears that claim", async () => {
    await startReplicas(PLAIN_VALUES);
    const scope = await scopeOf();
    const task = syntheticTaskId(8); // COMPLETED in AppFabric
    // An old IN_PROGRESS value and a claim on it, both without a TTL: nobody is refreshing it.
    await redis.set(`${scope}r:${task}`, JSON.stringify({ t: task, f: clock - 86_400_000, i: { app: "Stale", resultStatus: "IN_PROGRESS" } }));
    await redis.set(`${scope}c:${task}`, "x");
    for (const replica of replicas) expect((await poll(replica, task)).data?.userAccessTask).toMatchObject({ app: "App 8", resultStatus: "COMPLETED" });
    expect(batchCalls().length).toBeGreaterThanOrEqual(2);
    await vi.waitFor(async () => expect(await redis.keys(`${scope}c:*`)).toEqual([]));
  });

  it("shrugs off keys of another type or text where JSON or a number belongs: counted, never a reason to stop sharing", async () => {
    await startReplicas({ APPFABRIC_MAX_CALLS_PER_SECOND: "100" });
    const scope = await scopeOf();
    await redis.send("RPUSH", `${scope}r:${inProgress(0)}`, "x");
    await redis.send("HSET", `${scope}hold`, "a", "b");
    await redis.set(`${scope}rate:calls`, "abc");
    const apqHash = "a".repeat(64);
    await redis.set(`appfabric-subgraph:apq:${apqHash}`, "not json");
    const url = replicas[0]?.url ?? new URL("http://x");
    const answer = await postGraphQL<PollAll>(url, POLL_ALL, { ids: [inProgress(0), inProgress(1)] });
    expect(answer.data?.userAccessTasks).toEqual([inProgress(0), inProgress(1)].map((taskId) => ({ taskId, resultStatus: "IN_PROGRESS" })));
    const apq = (await (
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: apqHash } } }),
      })
    ).json()) as GraphQLResponse;
    expect(apq.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await metric(url, "redis_up")).toBe(1);
    for (const use of ["results", "throttle", "rate", "apq"]) expect(await metric(url, `redis_rejected_values_total{use="${use}"}`), use).toBeGreaterThan(0);
    expect(logs[0]?.lines().filter((line) => (line["level"] as number) >= 40)).toEqual([]);
  });

  it("does not let a rate counter planted with a long TTL refuse the fleet's calls", async () => {
    await startReplicas({ APPFABRIC_MAX_CALLS_PER_SECOND: "2" });
    const scope = await scopeOf();
    await redis.send("SET", `${scope}rate:calls`, "5", "PX", "3600000");
    expect((await poll(replicas[1] as RunningService, inProgress(0))).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(await metric(replicas[1]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="rate"}')).toBe(1);
    // Deleted, so that the fleet shares its rate again (the next call writes a counter of one second).
    expect(await redis.send("PTTL", `${scope}rate:calls`)).not.toBeGreaterThan(1_000);
  });

  it("ignores a throttling hold in Redis this service did not write, and ends one whose TTL was lost", async () => {
    await startReplicas();
    const scope = await scopeOf();
    for (const junk of [String(clock + 1e9), "1e308", "-1", "soon", "9".repeat(5_000)]) {
      await redis.set(`${scope}hold`, junk);
      expect((await poll(replicas[0] as RunningService, inProgress(0))).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
      clock += FRESH_MS + 1;
    }
    expect(await metric(replicas[0]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="throttle"}')).toBe(5);
    // A hold of 30 s written with no TTL: held for 30 s, then over.
    await redis.set(`${scope}hold`, String(clock + 30_000));
    expect((await poll(replicas[1] as RunningService, inProgress(1))).errors?.[0]?.extensions).toMatchObject({ code: "THROTTLED", retryAfterSeconds: 30 });
    clock += 30_001;
    expect((await poll(replicas[1] as RunningService, inProgress(1))).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
  });

  it("never shares errors or unknown ids: the next ask, at any replica, goes to AppFabric", async () => {
    await startReplicas();
    const unknown = "00000000-0000-4000-8000-ffffffffffff";
    for (const replica of replicas) expect((await poll(replica, unknown)).errors?.[0]?.extensions?.["code"]).toBe("NOT_FOUND");
    expect(batchCalls()).toHaveLength(3);
    emulator.injectFault({ fault: { kind: "error", status: 500, errorType: "InternalServerException" }, times: 3 });
    const failing = inProgress(3);
    expect((await poll(replicas[0] as RunningService, failing)).errors?.[0]?.extensions?.["code"]).toBe("UPSTREAM_ERROR");
    expect((await poll(replicas[1] as RunningService, failing)).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(await redis.keys("*:r:*")).toEqual([expect.stringContaining(failing)]);
  });

  it("a 429 at one replica holds the others until its Retry-After has passed", async () => {
    await startReplicas();
    emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "30" }, times: 1 });
    const first = await poll(replicas[0] as RunningService, inProgress(0));
    expect(first.errors?.[0]?.extensions).toMatchObject({ code: "THROTTLED", retryAfterSeconds: 30 });
    expect(batchCalls().map((call) => call.status)).toEqual([429]);
    // The others hold: THROTTLED at once with the time left, and nothing reaches AppFabric.
    for (const replica of replicas.slice(1)) {
      await vi.waitFor(async () => {
        const held = await poll(replica, inProgress(1));
        expect(held.errors?.[0]?.extensions).toMatchObject({ code: "THROTTLED", retryable: true, retryAfterSeconds: 30 });
      });
      expect(await metric(replica.url, 'appfabric_held_calls_total{reason="throttled",outcome="refused"}')).toBeGreaterThan(0);
    }
    expect(batchCalls()).toHaveLength(1);
    // The start mutation is held too, and says nothing was started.
    const start = await postGraphQL(replicas[2]?.url ?? new URL("http://x"), `mutation { startUserAccessTasks(email: "held@example.com") { app } }`);
    expect(start.errors?.[0]?.extensions).toMatchObject({ code: "THROTTLED", mayHaveStarted: false });
    expect(emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(0);
    // Once the Retry-After has passed, every replica calls again.
    clock += 31_000;
    for (const [index, replica] of replicas.entries())
      expect((await poll(replica, inProgress(index + 4))).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(batchCalls().map((call) => call.status)).toEqual([429, 200, 200, 200]);
  });

  it("a 429 without Retry-After holds the fleet for a second, waited out rather than refused", async () => {
    await startReplicas({ APPFABRIC_MAX_ATTEMPTS: "1" });
    emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException" }, times: 1 });
    expect((await poll(replicas[0] as RunningService, inProgress(0))).errors?.[0]?.extensions?.["code"]).toBe("THROTTLED");
    // The clock does not move: the hold of 1 s is slept out (real time), then the call goes.
    await vi.waitFor(async () => expect(await redis.keys("*:hold")).toHaveLength(1));
    expect((await poll(replicas[1] as RunningService, inProgress(1))).data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(await metric(replicas[1]?.url ?? new URL("http://x"), 'appfabric_held_calls_total{reason="throttled",outcome="waited"}')).toBe(1);
  });

  it("eight simultaneous 429s without Retry-After hold the fleet 1 s, not 60 s; throttled again after it, 2 s", async () => {
    // Every answer 500 ms late: the eight attempts are all out before the first 429 sets the hold, even
    // on a loaded machine (CI once saw one sent after it: it waited the hold out, met a 429 itself, and
    // so rightly doubled the hold).
    await emulator.close();
    emulator = await AppFabricEmulator.start({ tasks: syntheticTasks(40), latencyMs: 500 });
    // One call per operation (no coalescing), so that eight operations are eight attempts at once.
    await startReplicas({ APPFABRIC_MAX_ATTEMPTS: "1", APPFABRIC_COALESCE_MS: "0" });
    emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException" }, times: 8 });
    const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => poll(replicas[n % 3] as RunningService, inProgress(n))));
    expect(answers.map((answer) => answer.errors?.[0]?.extensions?.["code"])).toEqual(Array.from({ length: 8 }, () => "THROTTLED"));
    expect(batchCalls().map((call) => call.status)).toEqual(Array.from({ length: 8 }, () => 429));
    const held = async (outcome: "waited" | "refused") =>
      (await Promise.all(replicas.map((replica) => metric(replica.url, `appfabric_held_calls_total{reason="throttled",outcome="${outcome}"}`)))).reduce(
        (sum, value) => sum + value,
        0,
      );
    // On a loaded machine one of the eight may reach its replica after another's 429 set the hold: it
    // waits that hold out (counted) before it is sent. What follows is counted from here.
    const [waitedInBurst, refusedInBurst] = [await held("waited"), await held("refused")];
    const since = async () => [(await held("waited")) - waitedInBurst, (await held("refused")) - refusedInBurst];
    // Measured on the replicas' clock, never on Redis's real-time TTLs. Just past 1 s after the burst,
    // no replica holds anything (one step per 429 would hold 4 s at a replica that saw three: refused).
    clock += 1_001;
    // (Completed tasks the burst did not ask for: n % 4 === 0.)
    for (const [index, replica] of replicas.entries()) expect((await poll(replica, syntheticTaskId(4 * (index + 1)))).errors).toBeUndefined();
    expect(await since()).toEqual([0, 0]);
    // Throttled again right after the hold: 2 s. 1.5 s later a call still waits (out the last 0.5 s).
    emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException" }, times: 1 });
    expect((await poll(replicas[0] as RunningService, syntheticTaskId(16))).errors?.[0]?.extensions?.["code"]).toBe("THROTTLED");
    clock += 1_500;
    expect((await poll(replicas[0] as RunningService, syntheticTaskId(20))).errors).toBeUndefined();
    expect(await since()).toEqual([1, 0]);
  });

  it("keeps APPFABRIC_MAX_CALLS_PER_SECOND for the whole fleet, through Redis", async () => {
    await startReplicas({ APPFABRIC_MAX_CALLS_PER_SECOND: "1" });
    // Three calls at once, one at each replica: one goes, the others wait for the next seconds' tokens.
    const answers = await Promise.all(replicas.map((replica, index) => poll(replica, inProgress(index))));
    for (const answer of answers) expect(answer.data?.userAccessTask?.resultStatus).toBe("IN_PROGRESS");
    expect(batchCalls()).toHaveLength(3);
    const waited = await Promise.all(replicas.map((replica) => metric(replica.url, 'appfabric_held_calls_total{reason="rate",outcome="waited"}')));
    expect(waited.reduce((sum, value) => sum + value, 0)).toBeGreaterThanOrEqual(2);
    // Counted in Redis, not in each replica alone.
    for (const replica of replicas) expect(await metric(replica.url, 'redis_round_trips_total{use="rate"}')).toBeGreaterThan(0);
    expect(await metric(replicas[0]?.url ?? new URL("http://x"), 'redis_fallbacks_total{use="rate"}')).toBe(0);
  });

  it("keeps each caller's budget for the whole fleet: the third start in a minute is refused at whichever replica, and no identity is a key", async () => {
    await startReplicas({ CALLER_MAX_STARTS_PER_MINUTE: "2" });
    const START = 'mutation { startUserAccessTasks(email: "jordan.rivers@example.com") { taskId } }';
    const answers = [];
    for (const replica of replicas) answers.push(await postGraphQL(replica.url, START));
    expect(answers.slice(0, 2).map((answer) => answer.errors)).toEqual([undefined, undefined]);
    expect(answers[2]?.status).toBe(429);
    expect(answers[2]?.errors?.[0]?.extensions).toMatchObject({ code: "RATE_LIMITED", reason: "starts" });
    expect(emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(2);
    const keys = await redis.keys("*caller:starts*");
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^appfabric-subgraph:[0-9a-f]{16}:caller:starts:?[0-9a-f]{24}$/);
    expect(await metric(replicas[2]?.url ?? new URL("http://x"), 'redis_fallbacks_total{use="budgets"}')).toBe(0);
  });

  it("a persisted query registered at one replica answers at another", async () => {
    await startReplicas();
    const query = `query Persisted($id: ID!) { userAccessTask(id: $id) { taskId resultStatus } }`;
    const hash = createHash("sha256").update(query).digest("hex");
    const extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    const send = (replica: RunningService, body: Record<string, unknown>) =>
      fetch(replica.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(
        (response) => response.json() as Promise<GraphQLResponse>,
      );
    const variables = { id: syntheticTaskId(0) };
    // Unknown anywhere before it is registered.
    expect((await send(replicas[2] as RunningService, { extensions, variables })).errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_FOUND");
    const registered = await send(replicas[0] as RunningService, { query, extensions, variables });
    expect(registered.data).toEqual({ userAccessTask: { taskId: variables.id, resultStatus: "COMPLETED" } });
    await vi.waitFor(async () => expect(await redis.keys("appfabric-subgraph:apq:*")).toHaveLength(1));
    for (const replica of replicas.slice(1)) {
      expect((await send(replica, { extensions, variables })).data).toEqual({ userAccessTask: { taskId: variables.id, resultStatus: "COMPLETED" } });
    }
  });

  it("persists no document with a literal email, and past a caller's or the fleet's allowance runs it without keeping it", async () => {
    await startReplicas({ CALLER_MAX_PERSISTED_BYTES_PER_MINUTE: "30000", PERSISTED_QUERIES_MAX_BYTES: String(1024 * 1024) });
    const send = (replica: RunningService, body: Record<string, unknown>) =>
      fetch(replica.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }).then(
        (response) => response.json() as Promise<GraphQLResponse>,
      );
    const register = (replica: RunningService, query: string) =>
      send(replica, { query, extensions: { persistedQuery: { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") } } });
    const findAt = async (replica: RunningService, query: string) =>
      (await send(replica, { extensions: { persistedQuery: { version: 1, sha256Hash: createHash("sha256").update(query).digest("hex") } } })).errors?.[0]
        ?.extensions?.["code"] ?? "found";
    const apqKeys = () => redis.keys("appfabric-subgraph:apq:*");
    // A literal email: refused, run for nothing, kept nowhere.
    const withEmail = `mutation { startUserAccessTasks(email: "jordan.rivers@example.com") { taskId } }`;
    const refused = await register(replicas[0] as RunningService, withEmail);
    expect(refused.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(refused.errors?.[0]?.message).toContain("pass the email as a variable");
    expect(emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(0);
    expect(await findAt(replicas[0] as RunningService, withEmail)).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await apqKeys()).toEqual([]);
    // Documents of 8 KB (a comment pads them). The fleet may write 17,476 bytes of them a minute (1 MiB
    // over the hour a document lives); this caller (every request here is one caller), 30,000.
    const documents = [0, 1, 2, 3].map((n) => `query Padded${n} { __typename } # ${"x".repeat(8_000)}`);
    for (const document of documents) expect((await register(replicas[0] as RunningService, document)).data).toEqual({ __typename: "Query" });
    await vi.waitFor(async () => expect(await apqKeys()).toHaveLength(2));
    const url = replicas[0]?.url ?? new URL("http://x");
    // The first two are the fleet's: another replica finds them.
    expect(await findAt(replicas[1] as RunningService, documents[0] ?? "")).toBe("found");
    expect(await findAt(replicas[1] as RunningService, documents[1] ?? "")).toBe("found");
    // The third passed the fleet's allowance: kept only by the replica that ran it.
    expect(await metric(url, "persisted_queries_not_shared_total")).toBe(1);
    expect(await findAt(replicas[1] as RunningService, documents[2] ?? "")).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await findAt(replicas[0] as RunningService, documents[2] ?? "")).toBe("found");
    // The fourth passed the caller's: run, and kept nowhere.
    expect(await metric(url, 'caller_budget_refusals_total{reason="persisted_bytes"}')).toBe(1);
    expect(await findAt(replicas[0] as RunningService, documents[3] ?? "")).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await apqKeys()).toHaveLength(2);
  });

  it("a flood of persisted documents into a maxmemory Redis evicts nothing: the hold and the results stay", async () => {
    await startReplicas({ CALLER_MAX_PERSISTED_BYTES_PER_MINUTE: String(1024 ** 3), PERSISTED_QUERIES_MAX_BYTES: String(1024 * 1024) });
    const ids = [inProgress(0), inProgress(1), inProgress(2)];
    expectAllAnswered(await pollEverywhere(ids, 1), ids);
    emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "30" }, times: 1 });
    expect((await poll(replicas[0] as RunningService, inProgress(3))).errors?.[0]?.extensions?.["code"]).toBe("THROTTLED");
    await vi.waitFor(async () => expect(await redis.keys("*:hold")).toHaveLength(1));
    const fleetKeys = [...(await redis.keys("*:r:*")), ...(await redis.keys("*:hold"))].sort();
    expect(fleetKeys).toHaveLength(4);
    // 512 KB of room, and 800 KB of distinct documents offered by one caller whose own allowance is no limit.
    const info = async (section: string, field: string) => Number(new RegExp(`${field}:(\\d+)`).exec(String(await redis.send("INFO", section)))?.[1]);
    await redis.send("CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    await redis.send("CONFIG", "SET", "maxmemory", String((await info("memory", "used_memory")) + 512 * 1024));
    try {
      for (let n = 0; n < 100; n++) {
        const query = `query Flood${n} { __typename } # ${"x".repeat(8_000)}`;
        const hash = createHash("sha256").update(query).digest("hex");
        const response = await fetch(replicas[n % 3]?.url ?? "http://x", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
        });
        expect(((await response.json()) as GraphQLResponse).data).toEqual({ __typename: "Query" });
      }
      // The fleet's allowance (1 MiB over the hour a document lives: 17,476 bytes a minute) kept the rest out of Redis.
      expect((await redis.keys("appfabric-subgraph:apq:*")).length).toBeLessThanOrEqual(3);
      expect(await info("stats", "evicted_keys")).toBe(0);
      expect([...(await redis.keys("*:r:*")), ...(await redis.keys("*:hold"))].sort()).toEqual(fleetKeys);
    } finally {
      await redis.send("CONFIG", "SET", "maxmemory", "0");
    }
    const notShared = await Promise.all(replicas.map((replica) => metric(replica.url, "persisted_queries_not_shared_total")));
    expect(notShared.reduce((sum, value) => sum + value, 0)).toBeGreaterThanOrEqual(97);
  });

  it("never runs a document from Redis that does not hash to its key", async () => {
    await startReplicas();
    const query = `query Wanted($id: ID!) { userAccessTask(id: $id) { taskId } }`;
    const hash = createHash("sha256").update(query).digest("hex");
    // Someone who can write to Redis puts another document under the hash.
    await redis.set(
      `appfabric-subgraph:apq:${hash}`,
      JSON.stringify({ value: `query Other($id: ID!) { userAccessTask(id: $id) { email app } }`, expires: null }),
    );
    const answer = (await (
      await fetch(replicas[1]?.url ?? new URL("http://x"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } }, variables: { id: syntheticTaskId(0) } }),
      })
    ).json()) as GraphQLResponse;
    expect(answer.data).toBeUndefined();
    expect(answer.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(batchCalls()).toHaveLength(0);
    // A document that does hash to its key but is longer than any request may be (3 MB) was never
    // registered through a request: it is not even read.
    const huge = `query Huge { __typename } # ${"x".repeat(3_000_000)}`;
    const hugeHash = createHash("sha256").update(huge).digest("hex");
    await redis.set(`appfabric-subgraph:apq:${hugeHash}`, JSON.stringify({ value: huge, expires: null }));
    const refused = (await (
      await fetch(replicas[2]?.url ?? new URL("http://x"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hugeHash } } }),
      })
    ).json()) as GraphQLResponse;
    expect(refused.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_FOUND");
    expect(await metric(replicas[2]?.url ?? new URL("http://x"), 'redis_rejected_values_total{use="apq"}')).toBe(1);
  });

  it("Redis killed mid-run: nothing fails, each replica works alone, logs it once; Redis back: sharing resumes", async () => {
    await startReplicas();
    const ids = [inProgress(0), inProgress(1)];
    expectAllAnswered(await pollEverywhere(ids), ids);
    const before = batchCalls().length;
    await redis.kill();
    clock += FRESH_MS;
    // Every poll is answered; each replica asks AppFabric for itself (at most one call per replica).
    expectAllAnswered(await pollEverywhere(ids), ids);
    expectAllAnswered(await pollEverywhere(ids), ids);
    expect(batchCalls().length - before).toBeGreaterThanOrEqual(1);
    expect(batchCalls().length - before).toBeLessThanOrEqual(3);
    for (const replica of replicas) {
      expect(await metric(replica.url, "redis_up")).toBe(0);
      const ready = await fetch(new URL("/ready", replica.url));
      expect(ready.status).toBe(200);
      expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toBe("down");
    }
    await redis.restart();
    await vi.waitFor(async () => {
      for (const replica of replicas) expect(await metric(replica.url, "redis_up")).toBe(1);
    });
    // Sharing resumes: a result fetched by one replica serves the others.
    const afterRestart = batchCalls().length;
    clock += FRESH_MS;
    expectAllAnswered([await postGraphQL<PollAll>(replicas[0]?.url ?? new URL("http://x"), POLL_ALL, { ids })], ids);
    expectAllAnswered(await pollEverywhere(ids), ids);
    expect(batchCalls().length - afterRestart).toBe(1);
    for (const log of logs) {
      const redisLines = log.lines().filter((line) => typeof line["msg"] === "string" && line["msg"].includes("Redis"));
      expect(redisLines.map((line) => [line["level"], line["msg"]])).toEqual([
        [30, "Redis connected; the fleet shares through it"],
        [40, "Redis stopped answering; this replica works alone until it answers again"],
        [30, "Redis answers again; the fleet shares through it again"],
      ]);
      expect(log.lines().filter((line) => (line["level"] as number) >= 50)).toEqual([]);
      expect(log.text()).not.toContain(redis.password);
    }
    expect(await metric(replicas[0]?.url ?? new URL("http://x"), 'redis_fallbacks_total{use="results"}')).toBeGreaterThan(0);
  });

  /** Starts a lookup at replica 0 on an emulator whose started tasks end 1 to 4 s (of `clock`) after they start. */
  async function startLookup(): Promise<string[]> {
    await emulator.close();
    emulator = await AppFabricEmulator.start({ tasks: syntheticTasks(40), taskClock: () => clock, taskProgressMs: 1_000 });
    await startReplicas();
    const started = await postGraphQL<{ startUserAccessTasks: Array<{ taskId: string | null }> }>(
      replicas[0]?.url ?? new URL("http://x"),
      'mutation { startUserAccessTasks(email: "casey.ortiz@example.com") { taskId } }',
    );
    const ids = (started.data?.startUserAccessTasks ?? []).flatMap((task) => (task.taskId === null ? [] : [task.taskId]));
    expect(ids.length).toBeGreaterThan(1);
    return ids;
  }

  /** Every replica's answer for `ids`: the same statuses everywhere, no error. */
  async function statusesEverywhere(ids: readonly string[]): Promise<string[]> {
    const answers = await pollEverywhere(ids, 2);
    for (const answer of answers) expect(answer.errors).toBeUndefined();
    const statuses = answers.map((answer) => (answer.data?.userAccessTasks ?? []).map((task) => task?.resultStatus ?? "null"));
    for (const each of statuses) expect(each).toEqual(statuses[0]);
    return statuses[0] ?? [];
  }

  const redisLines = (log: ReturnType<typeof collectLogs>) =>
    log
      .lines()
      .filter((line) => typeof line["msg"] === "string" && line["msg"].includes("Redis"))
      .map((line) => [line["level"], line["msg"]]);

  it("a full Redis (maxmemory, noeviction: writes refused with OOM) never makes a wrong answer, and is logged once", async () => {
    const ids = await startLookup();
    await redis.send("CONFIG", "SET", "maxmemory-policy", "noeviction");
    await redis.send("CONFIG", "SET", "maxmemory", "1");
    try {
      expect(await statusesEverywhere(ids)).toEqual(ids.map(() => "IN_PROGRESS"));
      // Nothing could be written, so nothing is served from Redis: every replica asked for itself.
      expect(await redis.keys("*:r:*")).toEqual([]);
      // The tasks end (within 4 s); the next refresh, anywhere, sees it.
      clock += FRESH_MS;
      const final = await statusesEverywhere(ids);
      for (const status of final) expect(["COMPLETED", "FAILED", "EXPIRED"]).toContain(status);
      // Long enough for a replica's probe to find Redis answering PING while it still refuses writes.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await statusesEverywhere(ids)).toEqual(final);
    } finally {
      await redis.send("CONFIG", "SET", "maxmemory", "0");
    }
    for (const log of logs) {
      expect(redisLines(log)).toEqual([
        [30, "Redis connected; the fleet shares through it"],
        [
          40,
          "Redis is full (OOM): it refuses writes, so this replica shares only what it can read (check maxmemory and the eviction policy in docs/operating.md)",
        ],
      ]);
      expect(log.lines().filter((line) => (line["level"] as number) >= 50)).toEqual([]);
    }
    // With room again, results are shared again: one replica's fetch serves the others.
    const calls = batchCalls().length;
    await vi.waitFor(async () => {
      expect((await poll(replicas[0] as RunningService, syntheticTaskId(8))).errors).toBeUndefined();
      expect(await redis.keys("*:r:*")).not.toEqual([]);
    });
    for (const replica of replicas.slice(1)) expect((await poll(replica, syntheticTaskId(8))).data?.userAccessTask?.resultStatus).toBe("COMPLETED");
    expect(batchCalls().length - calls).toBe(1);
    // The replica whose write went through says so, once (the others will at their next write).
    expect(redisLines(logs[0] ?? collectLogs("info")).slice(2)).toEqual([[30, "Redis has room again; the fleet shares through it again"]]);
  });

  it("a flushed Redis (FLUSHALL, or a failover to an empty replica) costs one fetch for the fleet, never a wrong answer", async () => {
    const ids = await startLookup();
    expect(await statusesEverywhere(ids)).toEqual(ids.map(() => "IN_PROGRESS"));
    const calls = batchCalls().length;
    await redis.send("FLUSHALL");
    clock += FRESH_MS;
    const final = await statusesEverywhere(ids);
    for (const status of final) expect(["COMPLETED", "FAILED", "EXPIRED"]).toContain(status);
    // One call for the fleet refetched the lost results (first-miss claims), and shared them again.
    expect(batchCalls().length - calls).toBe(1);
    expect((await redis.keys("*:r:*")).length).toBe(ids.length);
    for (const log of logs) expect(redisLines(log)).toEqual([[30, "Redis connected; the fleet shares through it"]]);
  });

  it("a Redis that stops answering (SIGSTOP) costs at most REDIS_TIMEOUT_MS, then the replica works alone", async () => {
    await startReplicas({ REDIS_TIMEOUT_MS: "200" });
    const ids = [inProgress(0)];
    expectAllAnswered(await pollEverywhere(ids, 1), ids);
    redis.pause();
    try {
      clock += FRESH_MS;
      expectAllAnswered(await pollEverywhere(ids, 3), ids);
      for (const replica of replicas) expect(await metric(replica.url, "redis_up")).toBe(0);
    } finally {
      redis.resume();
    }
    // A PING a second finds it again, with no traffic needed; sharing resumes.
    await vi.waitFor(
      async () => {
        for (const replica of replicas) expect(await metric(replica.url, "redis_up")).toBe(1);
      },
      { timeout: 10_000, interval: 300 },
    );
    const calls = batchCalls().length;
    clock += FRESH_MS;
    expectAllAnswered([await postGraphQL<PollAll>(replicas[0]?.url ?? new URL("http://x"), POLL_ALL, { ids })], ids);
    expectAllAnswered(await pollEverywhere(ids, 2), ids);
    expect(batchCalls().length - calls).toBe(1);
    for (const log of logs) expect(log.text()).not.toContain(redis.password);
  });

  for (const mode of ["ALL", "WRITE"] as const) {
    it(`a Redis paused by CLIENT PAUSE ${mode} (as a failover does) never makes a wrong answer, and each replica logs each state once`, async () => {
      await startReplicas({ REDIS_TIMEOUT_MS: "200" });
      const ids = await startLookup();
      expect(await statusesEverywhere(ids)).toEqual(ids.map(() => "IN_PROGRESS"));
      // Long enough for every replica to meet it and for its once-a-second PING to find it still there.
      await redis.send("CLIENT", "PAUSE", "2500", mode);
      clock += FRESH_MS;
      const during = await statusesEverywhere(ids);
      for (const status of during) expect(["IN_PROGRESS", "COMPLETED", "FAILED", "EXPIRED"]).toContain(status);
      // After the pause: the tasks (final within 4 s) are seen as they are at the next refresh, anywhere.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      clock += 4 * FRESH_MS;
      const final = await statusesEverywhere(ids);
      for (const status of final) expect(["COMPLETED", "FAILED", "EXPIRED"]).toContain(status);
      await vi.waitFor(
        async () => {
          for (const replica of replicas) expect(await metric(replica.url, "redis_up")).toBe(1);
        },
        { timeout: 10_000, interval: 300 },
      );
      for (const log of logs) {
        const lines = redisLines(log);
        expect(lines[0]).toEqual([30, "Redis connected; the fleet shares through it"]);
        // A replica that met the pause says so once, and once that Redis answers again.
        const after = lines.slice(1);
        expect(
          after.length === 0 ||
            JSON.stringify(after) ===
              JSON.stringify([
                [40, "Redis stopped answering; this replica works alone until it answers again"],
                [30, "Redis answers again; the fleet shares through it again"],
              ]),
        ).toBe(true);
        expect(log.lines().filter((line) => (line["level"] as number) >= 50)).toEqual([]);
      }
    });
  }
});
