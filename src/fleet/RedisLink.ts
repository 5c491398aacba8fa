import { createClient, ErrorReply, type RedisClientType } from "@redis/client";
import type { Logger } from "pino";
import { isForeignValue, reasonOf, redisTimeout, SERVER_STATE } from "./redisReplies.js";

/** What the fleet shares through Redis; each use is counted on its own. */
export type RedisUse = "results" | "claims" | "throttle" | "rate" | "budgets" | "apq";

export type RedisState = "connecting" | "up" | "down";

/** What the link reports (metrics implement it): its state, each round trip, each fallback, each value refused. */
export interface RedisLinkObserver {
  /** Called once, with a reader of the link's state (`up`, `down`, `full`, …) to sample. */
  observeRedis(state: () => string): void;
  redisRoundTrip(use: RedisUse): void;
  redisFallback(use: RedisUse): void;
  redisValuesRejected(use: RedisUse, count: number): void;
}

export interface RedisLinkOptions {
  url: URL;
  /** How long one Redis round trip may take before the replica goes on alone. */
  timeoutMs: number;
  logger: Logger;
  observer: RedisLinkObserver;
}

/** Commands that may wait for Redis at once; past this they fail at once (and the replica goes on alone). */
const MAX_QUEUED_COMMANDS = 10_000;
/** While Redis is marked down, it is PINGed this often; the first answer in time brings it back. */
const PROBE_INTERVAL_MS = 1_000;
/** Reconnection waits 100 ms, 200 ms, 400 ms… up to this. */
const MAX_RECONNECT_DELAY_MS = 2_000;

/**
 * The replica's one connection to Redis (node-redis), and the rule every use of it follows: Redis
 * helps, it never decides. Each use goes through `run`, which answers `undefined` instead of waiting
 * when Redis is not connected, fails, or takes longer than `timeoutMs`; the caller then does what a
 * lone replica does. The first failure is logged once (at warn), and the return once (at info); every
 * use served without Redis is counted in `redis_fallbacks_total`.
 *
 * Commands are never queued while disconnected (`disableOfflineQueue`): a replica cut off from Redis
 * answers from its own memory at once instead of building a backlog. The client reconnects on its own.
 * Nothing of the URL (it may hold a password) is ever logged.
 */
export class RedisLink {
  readonly client: RedisClientType;
  readonly #options: RedisLinkOptions;
  #state: RedisState = "connecting";
  /** Refusals already logged, by use and word. */
  readonly #refusals = new Set<string>();
  /** Whether Redis has answered since start (for the words of the log line when it comes back). */
  #wasUp = false;
  #closed = false;
  /** Redis refuses writes for want of memory (OOM) since the last write that went through. */
  #full = false;
  /** PINGs Redis while it is marked down (it timed out or failed while connected). */
  #probe: NodeJS.Timeout | undefined;

  constructor(options: RedisLinkOptions) {
    this.#options = options;
    this.client = createClient({
      url: options.url.href,
      disableOfflineQueue: true,
      commandsQueueMaxLength: MAX_QUEUED_COMMANDS,
      socket: {
        connectTimeout: Math.max(options.timeoutMs, 1_000),
        reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 5), MAX_RECONNECT_DELAY_MS),
      },
    });
    // node-redis emits an error for every failed (re)connection; without a listener Node would crash.
    this.client.on("error", (error: unknown) => this.#down(reasonOf(error)));
    this.client.on("ready", () => this.#up());
    options.observer.observeRedis(() => this.#state);
    // Not awaited: a replica starts, and serves, whether Redis is there or not.
    this.client.connect().catch((error: unknown) => this.#down(reasonOf(error)));
  }

  get state(): RedisState {
    return this.#state;
  }

  /**
   * One use of Redis, bounded by `timeoutMs`: its answer, or `undefined` when Redis cannot help now
   * (not connected, an error, too slow). Never throws. `writes`: the command writes, so its success
   * says a full Redis has room again. `whileDown`: sent even while Redis is marked down, as long as the
   * connection is open; for a hand-over that other replicas wait for and no answer here waits for (a
   * claimed result and the release of its claim): a replica that stopped reading from Redis because
   * one reply came late still gives back what it took, instead of leaving the others to wait out the claim.
   */
  async run<T>(
    use: RedisUse,
    command: (client: RedisClientType) => Promise<T>,
    { writes = false, whileDown = false }: { writes?: boolean; whileDown?: boolean } = {},
  ): Promise<T | undefined> {
    const { observer } = this.#options;
    if ((this.#state !== "up" && !(whileDown && this.#state === "down")) || !this.client.isReady) {
      observer.redisFallback(use);
      return undefined;
    }
    observer.redisRoundTrip(use);
    // The command first: node-redis queues its write before the timeout starts counting.
    const pending = command(this.client);
    const timeout = redisTimeout(this.#options.timeoutMs);
    try {
      const answer = await Promise.race([pending, timeout.expired]);
      if (answer === "timeout") {
        observer.redisFallback(use);
        this.#down("timeout");
        return undefined;
      }
      if (writes && this.#full) this.#roomAgain();
      return answer;
    } catch (error) {
      observer.redisFallback(use);
      // Redis answered, about a value this service did not write (a list where a string belongs, text
      // where JSON or a number belongs): the value is ignored, Redis itself is fine.
      if (isForeignValue(error)) this.rejected(use, 1);
      // Full: it still answers, and reads still help; only writes are refused until it has room.
      else if (error instanceof ErrorReply && error.message.startsWith("OOM ")) this.#isFull();
      else if (error instanceof ErrorReply && !SERVER_STATE.test(error.message)) this.#refused(use, reasonOf(error));
      else this.#down(reasonOf(error));
      return undefined;
    } finally {
      timeout.cancel();
    }
  }

  /** `count` values read for `use` were not ones this service writes (junk, forged, oversized): ignored. */
  rejected(use: RedisUse, count: number): void {
    if (count > 0) this.#options.observer.redisValuesRejected(use, count);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#probe);
    if (this.client.isOpen) await this.client.close().catch(() => undefined);
  }

  /**
   * Redis answered and refused one kind of command (`NOPERM` for an ACL user without it, an unknown
   * command): that use goes on alone, the others keep sharing. Logged once per use and word, since it
   * is the operator's to fix and will not fix itself.
   */
  #refused(use: RedisUse, reason: string): void {
    const key = `${use}:${reason}`;
    if (this.#refusals.has(key)) return;
    this.#refusals.add(key);
    this.#options.logger.warn(
      { redis: reason, use },
      "Redis refused a command this service needs; this use works without Redis (check the ACL user's commands in docs/operating.md)",
    );
  }

  /** Logged once per episode: a full Redis fixes itself only when keys expire or the operator acts. */
  #isFull(): void {
    if (this.#full) return;
    this.#full = true;
    this.#options.logger.warn(
      { redis: "oom" },
      "Redis is full (OOM): it refuses writes, so this replica shares only what it can read (check maxmemory and the eviction policy in docs/operating.md)",
    );
  }

  #roomAgain(): void {
    this.#full = false;
    this.#options.logger.info("Redis has room again; the fleet shares through it again");
  }

  #down(reason: string): void {
    if (this.#closed || this.#state === "down") return;
    this.#probe ??= setInterval(() => void this.#ping(), PROBE_INTERVAL_MS).unref();
    this.#state = "down";
    this.#options.logger.warn(
      { redis: reason },
      this.#wasUp
        ? "Redis stopped answering; this replica works alone until it answers again"
        : "Redis cannot be reached; this replica works alone until it can",
    );
  }

  /** One PING while down: an answer within the timeout means Redis can help again. */
  async #ping(): Promise<void> {
    if (!this.client.isReady) return; // reconnecting: "ready" will tell
    const pong = this.client.ping().then(
      () => true,
      () => false,
    );
    const timeout = redisTimeout(this.#options.timeoutMs);
    const answered = await Promise.race([pong, timeout.expired.then(() => false)]);
    timeout.cancel();
    if (answered) this.#up();
  }

  #up(): void {
    clearInterval(this.#probe);
    this.#probe = undefined;
    if (this.#closed || this.#state === "up") return;
    const again = this.#wasUp;
    this.#state = "up";
    this.#wasUp = true;
    this.#options.logger.info(again ? "Redis answers again; the fleet shares through it again" : "Redis connected; the fleet shares through it");
  }
}
