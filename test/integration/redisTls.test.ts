import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createClient } from "@redis/client";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { postGraphQL } from "../support/harness.js";
import { startRedisServer, type RedisServer } from "../support/redisServer.js";
import { spawnEntry, withTsx } from "../support/spawnEntry.js";
import { metric } from "../support/subscriptions.js";

/**
 * `rediss://` with AUTH in the URL, against a real redis-server serving TLS with a certificate from a
 * private CA, through the real entry point (`npm start`, on the embedded emulator). Node trusts the CA
 * through its standard `NODE_EXTRA_CA_CERTS`, as the operator's guide says.
 */
let redis: RedisServer;
let child: ChildProcess | undefined;
const QUERY = `query($id: ID!) { userAccessTask(id: $id) { app resultStatus } }`;
const taskId = DEMO_TASKS[0]?.taskId ?? "";

beforeAll(async () => {
  redis = await startRedisServer({ tls: true });
});
afterAll(() => redis.stop());
afterEach(() => {
  child?.kill("SIGKILL");
  child = undefined;
});

describe("Redis with an ACL user", () => {
  it("works with exactly the commands docs/operating.md lists; one missing is logged once and costs only its own use", async () => {
    const commands = "+get +mget +set +del +getrange +strlen +eval +evalsha +ping +multi +exec +incrby +pttl +hello";
    const acl = await startRedisServer({
      aclUser: { name: "subgraph", password: "subgraph-pw-0001", rules: `~appfabric-subgraph:* resetchannels -@all ${commands.replace(" +mget", "")}` },
    });
    try {
      const url = acl.url.replace(/redis:\/\/:[^@]+@/, "redis://subgraph:subgraph-pw-0001@");
      const entry = await spawnEntry(withTsx("src/index.ts"), { PORT: "0", REDIS_URL: url });
      child = entry.child;
      await entry.printed("Redis connected; the fleet shares through it");
      expect((await postGraphQL(entry.url, QUERY, { id: taskId })).data).toEqual({ userAccessTask: { app: "Slack", resultStatus: "COMPLETED" } });
      await vi.waitFor(async () => expect(await acl.keys(`*:r:${taskId}`)).toHaveLength(1));
      // Without MGET, Keyv cannot read persisted queries: that use goes on alone, and says so once.
      const hash = "b".repeat(64);
      for (let n = 0; n < 3; n++) {
        const answer = await fetch(entry.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
        });
        expect(((await answer.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]?.extensions.code).toBe("PERSISTED_QUERY_NOT_FOUND");
      }
      await acl.set(`appfabric-subgraph:apq:${hash}`, JSON.stringify({ value: "query { __typename }", expires: null }));
      await fetch(entry.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }),
      });
      await entry.printed('"redis":"NOPERM"');
      expect(entry.output().split("Redis refused a command this service needs").length - 1).toBe(1);
      expect(await metric(entry.url, "redis_up")).toBe(1);
      expect(entry.output()).not.toContain("subgraph-pw-0001");
    } finally {
      await acl.stop();
    }
  });
});

describe("Two deployments on one Redis, as docs/operating.md sets them up", () => {
  it("each works with its own prefix, ACL user and key; one's credentials can neither read nor write the other's keys", async () => {
    const commands = "+get +mget +set +del +getrange +strlen +eval +evalsha +ping +multi +exec +incrby +pttl +hello";
    const users = ["a", "b"].map((name) => ({
      name: `deploy-${name}`,
      password: `deploy-${name}-pw-0001`,
      rules: `~appfabric-${name}:* resetchannels -@all ${commands}`,
    }));
    const shared = await startRedisServer({ aclUsers: users });
    const entries: ChildProcess[] = [];
    const asUser = (name: string) => shared.url.replace(/redis:\/\/:[^@]+@/, `redis://${name}:${name}-pw-0001@`);
    try {
      for (const name of ["a", "b"]) {
        const entry = await spawnEntry(withTsx("src/index.ts"), {
          PORT: "0",
          REDIS_URL: asUser(`deploy-${name}`),
          REDIS_KEY_PREFIX: `appfabric-${name}:`,
          REDIS_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        });
        entries.push(entry.child);
        await entry.printed("Redis connected; the fleet shares through it");
        expect((await postGraphQL(entry.url, QUERY, { id: taskId })).data).toEqual({ userAccessTask: { app: "Slack", resultStatus: "COMPLETED" } });
        await vi.waitFor(async () => expect(await shared.keys(`appfabric-${name}:*:r:${taskId}`)).toHaveLength(1));
        expect(entry.output()).not.toMatch(/NOPERM|"level":50/);
      }
      const [keyOfA] = await shared.keys(`appfabric-a:*:r:${taskId}`);
      // B's credentials against A's keys: refused by Redis, whatever the command.
      const b = createClient({ url: asUser("deploy-b") });
      b.on("error", () => undefined);
      await b.connect();
      try {
        await expect(b.get(keyOfA ?? "")).rejects.toThrow(/NOPERM/);
        await expect(b.set(keyOfA ?? "", "forged")).rejects.toThrow(/NOPERM/);
        await expect(b.getRange(keyOfA ?? "", 0, 100)).rejects.toThrow(/NOPERM/);
        await expect(b.set(`appfabric-b:${randomBytes(4).toString("hex")}`, "x")).resolves.toBe("OK");
      } finally {
        b.destroy();
      }
      // Nothing of either in clear.
      for (const key of await shared.keys("appfabric-*:r:*")) expect(await shared.get(key)).toMatch(/^s1:/);
    } finally {
      for (const child of entries) child.kill("SIGKILL");
      await shared.stop();
    }
  });
});

describe("Redis over TLS", () => {
  it("shares through rediss:// with the password in the URL, and never prints the password", async () => {
    const entry = await spawnEntry(withTsx("src/index.ts"), { PORT: "0", REDIS_URL: redis.url, NODE_EXTRA_CA_CERTS: redis.caFile ?? "" });
    child = entry.child;
    await entry.printed("Redis connected; the fleet shares through it");
    expect((await postGraphQL(entry.url, QUERY, { id: taskId })).data).toEqual({ userAccessTask: { app: "Slack", resultStatus: "COMPLETED" } });
    // The result went to Redis, through TLS.
    await vi.waitFor(async () => expect(await redis.keys(`*:r:${taskId}`)).toHaveLength(1));
    expect(await metric(entry.url, "redis_up")).toBe(1);
    expect(await metric(entry.url, 'redis_fallbacks_total{use="results"}')).toBe(0);
    expect(entry.output()).not.toContain(redis.password);
  });

  it("refuses a certificate it cannot trust: starts anyway, answers alone, says so once, and /ready stays 200", async () => {
    const entry = await spawnEntry(withTsx("src/index.ts"), { PORT: "0", REDIS_URL: redis.url });
    child = entry.child;
    await entry.printed("Redis cannot be reached; this replica works alone until it can");
    for (let n = 0; n < 3; n++)
      expect((await postGraphQL(entry.url, QUERY, { id: taskId })).data).toEqual({ userAccessTask: { app: "Slack", resultStatus: "COMPLETED" } });
    const ready = await fetch(new URL("/ready", entry.url));
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toBe("down");
    expect(await metric(entry.url, "redis_up")).toBe(0);
    // It keeps reconnecting, and keeps quiet about it.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(entry.output().split("Redis cannot be reached").length - 1).toBe(1);
    expect(entry.output()).not.toContain(redis.password);
    expect(entry.output()).toMatch(/"redis":"[A-Z_]+"/);
  });
});
