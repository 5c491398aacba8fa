import type { ResultCacheSettings } from "../fleet/CachedSource.js";
import { ConfigError } from "./ConfigError.js";
import { parseUrl, readInteger, setting, shownUrl, type Env } from "./env.js";

/** How replicas share work: the result cache, Redis, and the fleet-wide call rate. */
export interface FleetSettings {
  /** The status-aware result cache; undefined with `RESULT_CACHE=off`. */
  resultCache?: ResultCacheSettings;
  /** Redis, shared by the replicas; undefined without `REDIS_URL`. */
  redis?: RedisSettings;
  /** `APPFABRIC_MAX_CALLS_PER_SECOND`: AppFabric attempts per second for the whole fleet (or this replica, without Redis). */
  maxCallsPerSecond?: number;
}

export interface RedisSettings {
  /** `redis://` or `rediss://` (TLS), with user and password (AUTH) and database in the URL as Redis documents them. */
  url: URL;
  /** Put before every key, so that several deployments can share one Redis. */
  keyPrefix: string;
  /** How long one Redis round trip may take before the replica goes on alone. */
  timeoutMs: number;
}

const DEFAULT_KEY_PREFIX = "appfabric-subgraph:";
const KEY_PREFIX = /^[\w.:{}-]{1,64}$/;

export function readFleet(env: Env): FleetSettings {
  const settings: FleetSettings = {};
  const resultCache = readResultCache(env);
  if (resultCache !== undefined) settings.resultCache = resultCache;
  const redis = readRedis(env);
  if (redis !== undefined) settings.redis = redis;
  const rate = setting(env, "APPFABRIC_MAX_CALLS_PER_SECOND");
  if (rate !== undefined) settings.maxCallsPerSecond = readInteger(env, "APPFABRIC_MAX_CALLS_PER_SECOND", 0, 1, 100_000);
  return settings;
}

function readResultCache(env: Env): ResultCacheSettings | undefined {
  const mode = setting(env, "RESULT_CACHE");
  if (mode !== undefined && mode !== "on" && mode !== "off") throw new ConfigError("RESULT_CACHE", "on or off", mode);
  const settings: ResultCacheSettings = {
    finalTtlMs: readInteger(env, "RESULT_CACHE_FINAL_TTL_S", 300, 0, 86_400) * 1_000,
    inProgressMs: readInteger(env, "RESULT_CACHE_IN_PROGRESS_MS", 1_000, 0, 60_000),
    maxEntries: readInteger(env, "RESULT_CACHE_MAX_ENTRIES", 10_000, 1, 10_000_000),
  };
  return mode === "off" ? undefined : settings;
}

function readRedis(env: Env): RedisSettings | undefined {
  const raw = setting(env, "REDIS_URL");
  const keyPrefix = setting(env, "REDIS_KEY_PREFIX") ?? DEFAULT_KEY_PREFIX;
  if (!KEY_PREFIX.test(keyPrefix)) throw new ConfigError("REDIS_KEY_PREFIX", "1 to 64 letters, digits and . : _ - { }", keyPrefix);
  const timeoutMs = readInteger(env, "REDIS_TIMEOUT_MS", 100, 5, 10_000);
  if (raw === undefined) return undefined;
  const url = parseUrl(raw);
  if (url === undefined || (url.protocol !== "redis:" && url.protocol !== "rediss:") || url.hostname === "" || url.search !== "" || url.hash !== "") {
    throw new ConfigError(
      "REDIS_URL",
      "a redis:// or rediss:// URL such as rediss://:password@redis.internal:6380/0 (user, password and database in the URL; no query or fragment)",
      shownUrl(raw),
    );
  }
  if (url.pathname !== "" && url.pathname !== "/" && !/^\/\d{1,2}$/.test(url.pathname)) {
    throw new ConfigError("REDIS_URL", "a database number (0-99) as the only path, or none", shownUrl(raw));
  }
  return { url, keyPrefix, timeoutMs };
}
