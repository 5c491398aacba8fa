import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { CLOCK_SKEW_MS } from "../loaders/cachedItem.js";
import type { RedisLink, RedisUse } from "./RedisLink.js";
import { isForeignValue } from "./redisReplies.js";

export interface FleetRateOptions {
  /** Points each key may take per window. */
  points: number;
  durationMs: number;
  /** With Redis: the window is shared by every replica (under `keyPrefix`); without, each replica has its own. */
  redis?: { link: RedisLink; keyPrefix: string; use: RedisUse };
}

/**
 * A fixed-window rate per key, fleet-wide through Redis (rate-limiter-flexible's Redis limiter) and
 * this replica's own (its memory limiter, at the same rate) while Redis cannot help. A counter in
 * Redis that asks to wait longer than a window, or that is not a number, was not written by this
 * service: it is deleted (so that the fleet shares its rate again), counted, and the replica's own
 * limiter answers instead.
 */
export class FleetRate {
  readonly #options: FleetRateOptions;
  readonly #local: RateLimiterMemory;
  readonly #shared: RateLimiterRedis | undefined;

  constructor(options: FleetRateOptions) {
    this.#options = options;
    const duration = options.durationMs / 1_000;
    this.#local = new RateLimiterMemory({ points: options.points, duration });
    if (options.redis !== undefined) {
      this.#shared = new RateLimiterRedis({
        storeClient: options.redis.link.client,
        useRedisPackage: true,
        points: options.points,
        duration,
        keyPrefix: options.redis.keyPrefix,
      });
    }
  }

  /** 0 when `cost` points were taken for `key`, else how long (ms, at least 1) until they may be. */
  async take(key: string, cost = 1): Promise<number> {
    const shared = this.#shared;
    const redis = this.#options.redis;
    if (shared !== undefined && redis !== undefined) {
      const fromRedis = await redis.link.run(
        redis.use,
        async () => {
          try {
            return await consume(shared, key, cost);
          } catch (error) {
            if (isForeignValue(error)) return FOREIGN;
            throw error;
          }
        },
        { writes: true },
      );
      if (fromRedis !== undefined && fromRedis !== FOREIGN && fromRedis <= this.#options.durationMs + CLOCK_SKEW_MS) return fromRedis;
      if (fromRedis !== undefined) {
        redis.link.rejected(redis.use, 1);
        await redis.link.run(redis.use, () => shared.delete(key));
      }
    }
    return consume(this.#local, key, cost);
  }
}

const FOREIGN = "foreign";

async function consume(limiter: RateLimiterMemory | RateLimiterRedis, key: string, cost: number): Promise<number> {
  try {
    await limiter.consume(key, cost);
    return 0;
  } catch (refusal) {
    if (refusal instanceof RateLimiterRes) return Math.max(1, refusal.msBeforeNext);
    throw refusal;
  }
}
