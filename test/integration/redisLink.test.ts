import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisLink } from "../../src/fleet/RedisLink.js";
import { Metrics } from "../../src/observability/Metrics.js";
import { collectLogs } from "../support/collectLogs.js";
import { startRedisServer, type RedisServer } from "../support/redisServer.js";

/** Holds this process's event loop for `ms`, as a burst of requests on a busy replica does. */
function holdLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: no timer, no socket is looked at meanwhile
  }
}

async function linkUp(redis: RedisServer, timeoutMs: number): Promise<{ link: RedisLink; logs: ReturnType<typeof collectLogs> }> {
  const logs = collectLogs();
  const link = new RedisLink({ url: new URL(redis.url), timeoutMs, logger: logs.logger, observer: new Metrics() });
  for (let tries = 0; link.state !== "up"; tries++) {
    if (tries > 200) throw new Error(`Redis link never came up: ${logs.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { link, logs };
}

/** The one connection to Redis, and what counts as Redis being too slow. */
describe("RedisLink timeouts", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it("does not take this process's own busy loop for a slow Redis", async () => {
    const { link, logs } = await linkUp(redis, 50);
    try {
      await redis.set("lag:key", "value");
      const answer = link.run("results", (client) => client.get("lag:key"));
      // After node-redis has written the command (check phase), the loop is held far past the
      // timeout: Redis answered long ago, the reply waits in the socket.
      setImmediate(() => holdLoop(1_000));
      expect(await answer).toBe("value");
      expect(link.state).toBe("up");
      expect(logs.text()).not.toContain("stopped answering");
    } finally {
      await link.close();
    }
  });

  it("still gives up on a Redis that does not answer, and hands over claims while marked down", async () => {
    const { link, logs } = await linkUp(redis, 50);
    try {
      redis.pause();
      try {
        expect(await link.run("results", (client) => client.get("lag:key"))).toBeUndefined();
        expect(link.state).toBe("down");
        // Marked down, still connected: ordinary uses go on alone at once, a hand-over is still sent.
        const plain = link.run("results", (client) => client.set("lag:plain", "x"));
        const handover = link.run("results", (client) => client.set("lag:handover", "x"), { whileDown: true });
        expect(await plain).toBeUndefined();
        expect(await handover).toBeUndefined(); // no answer within the timeout: Redis is stopped
      } finally {
        redis.resume();
      }
      // Redis, woken, carries out what was sent to it while this replica had stopped reading from it.
      for (let tries = 0; (await redis.get("lag:handover")) === null; tries++) {
        if (tries > 200) throw new Error("the hand-over never reached Redis");
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(await redis.get("lag:plain")).toBeNull();
      expect(logs.lines().filter((line) => line["msg"] === "Redis stopped answering; this replica works alone until it answers again")).toHaveLength(1);
    } finally {
      await link.close();
    }
  });
});
