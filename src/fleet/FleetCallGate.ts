import type { Clock } from "../lib/Clock.js";
import { setTimeout as sleep } from "node:timers/promises";
import { MAX_HOLD_WAIT_MS, type CallGate } from "../appfabric/CallGate.js";
import { deadlineError, HeldByFleetError } from "../appfabric/errors.js";
import { CLOCK_SKEW_MS } from "../loaders/cachedItem.js";
import { FleetRate } from "./FleetRate.js";
import type { RedisLink } from "./RedisLink.js";

/** What the gate reports (metrics implement it): each attempt it held, and whether it waited or was refused. */
export interface CallGateObserver {
  callHeld(reason: "throttled" | "rate", outcome: "waited" | "refused"): void;
}

export interface FleetCallGateOptions {
  /** With Redis: a hold is shared by every replica of the key space `scope`. */
  redis?: { link: RedisLink; scope: string };
  /** A fleet-wide rate of attempts per second (`APPFABRIC_MAX_CALLS_PER_SECOND`). */
  maxCallsPerSecond?: number;
  observer: CallGateObserver;
  /** The gate's clock (ms since the epoch); tests move it by hand. */
  now?: Clock;
}

/** The hold after a 429 that named no `Retry-After`; twice the last one when throttled again right after it, up to the cap. */
const BASE_HOLD_MS = 1_000;
const MAX_HOLD_MS = 60_000;

/**
 * Makes the fleet one client toward AppFabric's per-account throttling. A 429 seen by any replica
 * holds every replica's new attempts until its `Retry-After` (or a backoff from 1 s, doubling while
 * 429s follow one another, at most 60 s) has passed.
 *
 * Why the backoff counts holds, not 429s: attempts sent together (a burst of operations, one call
 * each) are throttled together, and their 429s arrive one after another. They all answer attempts
 * sent before the hold they cause, so they are one step: the hold is 1 s however many there are.
 * It doubles only when an attempt sent after a hold (once it ended, or waited out) is throttled again
 * within as long as that hold lasted; after a quiet spell it starts again from 1 s. The hold is kept in this replica's memory and,
 * with Redis, in `<scope>hold` (a Lua script keeps the later of two holds). Optionally, attempts are
 * also bounded to `maxCallsPerSecond` across the fleet by rate-limiter-flexible's Redis limiter (its
 * in-memory limiter, at the same rate, while Redis cannot help).
 */
export class FleetCallGate implements CallGate {
  readonly #options: FleetCallGateOptions;
  readonly #now: Clock;
  readonly #holdKey: string | undefined;
  readonly #rate: FleetRate | undefined;
  #holdUntil = 0;
  /** When this replica last set or raised a hold (the gate's clock). */
  #holdSetAt = Number.NEGATIVE_INFINITY;
  /** The length of the last hold after a 429 without `Retry-After`; 0 before the first. */
  #backoffMs = 0;

  constructor(options: FleetCallGateOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#holdKey = options.redis === undefined ? undefined : `${options.redis.scope}hold`;
    const points = options.maxCallsPerSecond;
    const { redis } = options;
    if (points !== undefined) {
      this.#rate = new FleetRate({
        points,
        durationMs: RATE_WINDOW_MS,
        ...(redis === undefined ? {} : { redis: { link: redis.link, keyPrefix: `${redis.scope}rate`, use: "rate" } }),
      });
    }
  }

  heldForMs(): number {
    return Math.max(0, this.#holdUntil - this.#now());
  }

  throttled(retryAfterSeconds: number | undefined, sentAt: number = this.#now()): void {
    const now = this.#now();
    let holdMs: number;
    if (retryAfterSeconds !== undefined) holdMs = Math.min(retryAfterSeconds * 1_000, MAX_HOLD_MS);
    else {
      // Sent before the hold now in force was set: that hold is already this burst's answer.
      if (sentAt <= this.#holdSetAt) return;
      const again = this.#backoffMs > 0 && sentAt - this.#holdUntil <= this.#backoffMs;
      holdMs = again ? Math.min(this.#backoffMs * 2, MAX_HOLD_MS) : BASE_HOLD_MS;
      this.#backoffMs = holdMs;
    }
    const until = now + holdMs;
    if (until > this.#holdUntil) this.#holdSetAt = now;
    this.#holdUntil = Math.max(this.#holdUntil, until);
    const redis = this.#options.redis;
    if (redis === undefined || this.#holdKey === undefined) return;
    const key = this.#holdKey;
    void redis.link.run("throttle", (client) => client.eval(KEEP_LATER_HOLD, { keys: [key], arguments: [String(until), String(Math.ceil(holdMs))] }), {
      writes: true,
    });
  }

  async beforeAttempt(deadline: AbortSignal | undefined): Promise<number> {
    await this.#waitOutHold(deadline);
    if (this.#rate !== undefined) await this.#takeRateToken(this.#rate, deadline);
    return this.#now();
  }

  async #waitOutHold(deadline: AbortSignal | undefined): Promise<void> {
    const shared = await this.#sharedHold();
    if (shared !== undefined && shared > this.#holdUntil) this.#holdUntil = shared;
    const heldMs = this.heldForMs();
    if (heldMs > 0) await this.#waitOrRefuse("throttled", heldMs, deadline);
  }

  /** Waits out a hold of at most MAX_HOLD_WAIT_MS; refuses a longer one at once (nothing sent). Counted either way. */
  async #waitOrRefuse(reason: "throttled" | "rate", ms: number, deadline: AbortSignal | undefined): Promise<void> {
    if (ms > MAX_HOLD_WAIT_MS) {
      this.#options.observer.callHeld(reason, "refused");
      throw new HeldByFleetError(reason, Math.ceil(ms / 1_000));
    }
    this.#options.observer.callHeld(reason, "waited");
    await this.#sleep(ms, deadline);
  }

  /**
   * The fleet's hold in Redis (ms since the epoch), if any and if Redis answers. The value is an
   * absolute time, so a hold key that lost its TTL still ends; a value further than 60 s (plus a
   * second for clocks) from now was not written by this service and is ignored, as is anything that
   * is not a number. At most 32 bytes are read.
   */
  async #sharedHold(): Promise<number | undefined> {
    const redis = this.#options.redis;
    const key = this.#holdKey;
    if (redis === undefined || key === undefined) return undefined;
    const raw = await redis.link.run("throttle", (client) => client.getRange(key, 0, 31));
    if (raw === undefined || raw === null || raw === "") return undefined;
    const until = /^\d{1,16}$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(until) || until > this.#now() + MAX_HOLD_MS + CLOCK_SKEW_MS) {
      redis.link.rejected("throttle", 1);
      return undefined;
    }
    return until;
  }

  async #takeRateToken(rate: FleetRate, deadline: AbortSignal | undefined): Promise<void> {
    for (;;) {
      const waitMs = await rate.take(RATE_KEY);
      if (waitMs === 0) return;
      await this.#waitOrRefuse("rate", waitMs, deadline);
    }
  }

  async #sleep(ms: number, deadline: AbortSignal | undefined): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: deadline });
    } catch {
      throw deadlineError(deadline?.reason);
    }
  }
}

const RATE_KEY = "calls";
/** The rate's window: APPFABRIC_MAX_CALLS_PER_SECOND per second. */
const RATE_WINDOW_MS = 1_000;

/** Sets the hold to ARGV[1] (ms since the epoch) for ARGV[2] ms, unless a later hold is already set. */
const KEEP_LATER_HOLD = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
end
return 0`;
