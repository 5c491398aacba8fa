import type { Clock } from "./lib/Clock.js";
import { createHash } from "node:crypto";
import type { KeyValueCache } from "@apollo/utils.keyvaluecache";
import type { Logger } from "pino";
import type { FleetSettings } from "./config/readFleet.js";
import type { UserAccessTaskSource } from "./loaders/UserAccessTaskSource.js";
import type { Metrics } from "./observability/Metrics.js";
import { CallerBudgets, type CallerBudgetSettings } from "./callers/CallerBudgets.js";
import { CachedSource } from "./loaders/CachedSource.js";
import { FleetCallGate } from "./fleet/FleetCallGate.js";
import { persistedQueryCache } from "./fleet/persistedQueryCache.js";
import { RedisLink, type RedisState } from "./fleet/RedisLink.js";
import { PLAIN, ResultSeal } from "./fleet/ResultSeal.js";
import { SharedResults } from "./fleet/SharedResults.js";

export interface Fleet {
  /** Asked before every AppFabric attempt: the shared hold after a 429, and the call rate. */
  gate: FleetCallGate;
  /** Each caller's budgets: fleet-wide with Redis, this replica's own without. */
  budgets: CallerBudgets;
  /** The source with the result cache in front, or the source itself with `RESULT_CACHE=off`. */
  cached(source: UserAccessTaskSource): UserAccessTaskSource;
  /** Apollo's persisted-query cache in Redis; undefined without Redis (Apollo's in-memory default). */
  persistedQueries?: KeyValueCache<string>;
  /** For `/ready`: Redis's state, or `off` without `REDIS_URL`. */
  redisState(): RedisState | "off";
  close(): Promise<void>;
}

export interface FleetOptions {
  settings: FleetSettings;
  callers: CallerBudgetSettings;
  /** What AppFabric calls are made for: replicas share only when these are the same. */
  upstream: { region: string; appBundleIdentifier: string; endpoint: URL };
  logger: Logger;
  metrics: Metrics;
  /** The largest request body any caller may send: no persisted document read from Redis is longer. */
  maxDocumentBytes: number;
  /** The cache's and the hold's clock (ms since the epoch); tests move it by hand. */
  now?: Clock;
}

/**
 * What makes replicas one client toward AppFabric: the result cache, the call gate and, with
 * `REDIS_URL`, the Redis connection they share. Task results and holds live under a key space of
 * their own for each app bundle, region and endpoint (`<prefix><hash>:`), so that deployments of
 * different bundles can share one Redis without ever reading each other's results.
 */
export function startFleet(options: FleetOptions): Fleet {
  const { settings, metrics } = options;
  const link =
    settings.redis === undefined
      ? undefined
      : new RedisLink({ url: settings.redis.url, timeoutMs: settings.redis.timeoutMs, logger: options.logger, observer: metrics });
  const keyPrefix = settings.redis?.keyPrefix ?? "";
  const scope = `${keyPrefix}${upstreamHash(options.upstream)}:`;
  const gate = new FleetCallGate({
    ...(link === undefined ? {} : { redis: { link, scope } }),
    ...(settings.maxCallsPerSecond === undefined ? {} : { maxCallsPerSecond: settings.maxCallsPerSecond }),
    observer: metrics,
    now: options.now,
  });
  const values = settings.redis?.values ?? "plain";
  if (link !== undefined && values === "plain") {
    options.logger.warn("Results are kept in Redis in clear, personal data included (no REDIS_ENCRYPTION_KEY): anyone who can read this Redis reads them");
  }
  const shared = link === undefined ? undefined : new SharedResults(link, scope, values === "plain" ? PLAIN : new ResultSeal(values, scope));
  const budgets = new CallerBudgets({ settings: options.callers, ...(link === undefined ? {} : { redis: { link, scope } }), observer: metrics });
  return {
    gate,
    budgets,
    cached: (source) =>
      settings.resultCache === undefined
        ? source
        : new CachedSource(source, { settings: settings.resultCache, ...(shared === undefined ? {} : { shared }), observer: metrics, now: options.now }),
    ...(link === undefined
      ? {}
      : { persistedQueries: persistedQueryCache(link, keyPrefix, options.maxDocumentBytes, settings.redis?.persistedQueriesMaxBytes ?? 0, metrics) }),
    redisState: () => link?.state ?? "off",
    close: async () => link?.close(),
  };
}

/** 16 hex digits of SHA-256 over what the calls are made for: no bundle ARN in Redis's key names. */
function upstreamHash(upstream: FleetOptions["upstream"]): string {
  return createHash("sha256").update(`${upstream.region}\n${upstream.appBundleIdentifier}\n${upstream.endpoint.origin}`).digest("hex").slice(0, 16);
}
