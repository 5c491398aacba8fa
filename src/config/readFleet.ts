import type { ResultCacheSettings } from "../loaders/ResultCacheSettings.js";
import type { SealKeys } from "../fleet/ResultSeal.js";
import { ConfigError } from "./ConfigError.js";
import { parseUrl, readInteger, readText, setting, shownUrl, type Env } from "./env.js";

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
  /**
   * The keys results in Redis are sealed with (REDIS_ENCRYPTION_KEY, REDIS_ENCRYPTION_KEY_PREVIOUS), or
   * `plain` (RESULT_CACHE_SHARED=plain, or no key outside production): values in clear, as before.
   */
  values: SealKeys | "plain";
  /** PERSISTED_QUERIES_MAX_BYTES: the most the fleet's persisted documents may take in Redis. */
  persistedQueriesMaxBytes: number;
}

const KEY_PREFIX = /^[\w.:{}-]{1,64}$/;

export function readFleet(env: Env, production: boolean): FleetSettings {
  const settings: FleetSettings = {};
  const resultCache = readResultCache(env);
  if (resultCache !== undefined) settings.resultCache = resultCache;
  const redis = readRedis(env, production);
  if (redis !== undefined) settings.redis = redis;
  if (setting(env, "APPFABRIC_MAX_CALLS_PER_SECOND") !== undefined) settings.maxCallsPerSecond = readInteger(env, "APPFABRIC_MAX_CALLS_PER_SECOND");
  return settings;
}

function readResultCache(env: Env): ResultCacheSettings | undefined {
  const mode = setting(env, "RESULT_CACHE");
  if (mode !== undefined && mode !== "on" && mode !== "off") throw new ConfigError("RESULT_CACHE", "on or off", mode);
  const settings: ResultCacheSettings = {
    finalTtlMs: readInteger(env, "RESULT_CACHE_FINAL_TTL_S") * 1_000,
    inProgressMs: readInteger(env, "RESULT_CACHE_IN_PROGRESS_MS"),
    maxEntries: readInteger(env, "RESULT_CACHE_MAX_ENTRIES"),
  };
  return mode === "off" ? undefined : settings;
}

function readRedis(env: Env, production: boolean): RedisSettings | undefined {
  const values = readValueKeys(env);
  const raw = setting(env, "REDIS_URL");
  const keyPrefix = readText(env, "REDIS_KEY_PREFIX") ?? "";
  if (!KEY_PREFIX.test(keyPrefix)) throw new ConfigError("REDIS_KEY_PREFIX", "1 to 64 letters, digits and . : _ - { }", keyPrefix);
  const timeoutMs = readInteger(env, "REDIS_TIMEOUT_MS");
  const persistedQueriesMaxBytes = readInteger(env, "PERSISTED_QUERIES_MAX_BYTES");
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
  if (values === undefined && production) {
    throw new ConfigError(
      "REDIS_ENCRYPTION_KEY",
      "set with REDIS_URL in production (32 random bytes in base64: openssl rand -base64 32), or RESULT_CACHE_SHARED=plain to keep results, personal data included, in clear in Redis",
      "unset",
    );
  }
  return { url, keyPrefix, timeoutMs, values: values ?? "plain", persistedQueriesMaxBytes };
}

/** RESULT_CACHE_SHARED and the keys; `undefined` when neither says how (no key, no choice). */
function readValueKeys(env: Env): SealKeys | "plain" | undefined {
  const shared = setting(env, "RESULT_CACHE_SHARED");
  if (shared !== undefined && shared !== "plain" && shared !== "sealed") throw new ConfigError("RESULT_CACHE_SHARED", "sealed or plain", shared);
  const current = readKey(env, "REDIS_ENCRYPTION_KEY");
  const previous = readKey(env, "REDIS_ENCRYPTION_KEY_PREVIOUS");
  if (previous !== undefined && current === undefined)
    throw new ConfigError("REDIS_ENCRYPTION_KEY", "set when REDIS_ENCRYPTION_KEY_PREVIOUS is (the previous key only opens)", "unset");
  if (shared === "plain") {
    if (current !== undefined) throw new ConfigError("RESULT_CACHE_SHARED", "sealed (or unset) when REDIS_ENCRYPTION_KEY is set", "plain");
    return "plain";
  }
  if (current === undefined) {
    if (shared === "sealed") throw new ConfigError("REDIS_ENCRYPTION_KEY", "set when RESULT_CACHE_SHARED=sealed", "unset");
    return undefined;
  }
  if (previous !== undefined && previous.equals(current))
    throw new ConfigError("REDIS_ENCRYPTION_KEY_PREVIOUS", "another key than REDIS_ENCRYPTION_KEY", "the same key");
  return previous === undefined ? { current } : { current, previous };
}

/** A 32-byte key in base64; the error says only what was wrong with it, never any of it. */
function readKey(env: Env, variable: "REDIS_ENCRYPTION_KEY" | "REDIS_ENCRYPTION_KEY_PREVIOUS"): Buffer | undefined {
  const text = setting(env, variable);
  if (text === undefined) return undefined;
  const key = Buffer.from(text, "base64");
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text) || key.length !== 32) {
    throw new ConfigError(variable, "32 random bytes in base64, 44 characters (openssl rand -base64 32)", `${text.length} characters, not shown`);
  }
  return key;
}
