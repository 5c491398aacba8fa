import { isIP } from "node:net";
import type { LevelWithSilent } from "pino";
import { DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_QUEUED_IDS, DEFAULT_TIMEOUT_MS, isAppBundleIdentifier } from "../appfabric/constants.js";
import { OPERATION_NAME } from "../observability/operationName.js";
import { ConfigError } from "./ConfigError.js";
import { parseHttpUrl, parseUrl, readBoolean, readInteger, setting, shownUrl, type Env } from "./env.js";
import { parseFaultRules, type EmulatorFaultRule } from "./parseFaultRules.js";
import { readAuth } from "./readAuth.js";
import { readTracing } from "./readTracing.js";
import type { TracingSettings } from "../observability/TracingSettings.js";
import { readFleet, type FleetSettings } from "./readFleet.js";
import type { AuthSettings } from "../server/createAuthenticator.js";
import { CLIENT_MAX_ALIASES } from "../server/operationLimits.js";
import type { ServerLimits, SubscriptionSettings } from "../server/startServer.js";
import type { CallerBudgetSettings } from "../callers/CallerBudgets.js";
import type { AuditSettings } from "../callers/AuditTrail.js";

/** The service's settings, read from the environment once at start and validated. */
export { ConfigError } from "./ConfigError.js";

export interface Config {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** The interface to listen on. */
  host: string;
  /** pino level. */
  logLevel: LevelWithSilent;
  /** SigV4 signing region and, unless `endpoint` is set, the region of AWS's endpoint. */
  region: string;
  /** Where calls go: the real AppFabric or, when no app bundle is configured, the embedded emulator. */
  upstream: { kind: "aws"; appBundleIdentifier: string; endpoint?: URL } | { kind: "emulator" };
  /** `NODE_ENV=production`: no stack traces, and Sandbox and introspection off unless enabled. */
  production: boolean;
  /** Introspection and Sandbox. */
  introspection: boolean;
  appFabric: {
    /** Per-attempt timeout. */
    timeoutMs: number;
    /** Attempts per call, the first included. */
    maxAttempts: number;
    /** AppFabric attempts in flight at once in this process. */
    maxConcurrency: number;
    /** How long an id waits for ids of other operations to share its call; 0: per-operation batching only. */
    coalesceMs: number;
    /** Task ids that may wait for AppFabric in this process; more are refused at once (`OVERLOADED`). */
    maxQueuedIds: number;
  };
  limits: ServerLimits;
  subscriptions: SubscriptionSettings;
  /** Operation names that get their own metric label value; every other name is counted as `(other)`. */
  metricsOperationNames: string[];
  /** Browser origins allowed by CORS; empty: no cross-origin browser access. */
  corsOrigins: string[];
  auth: AuthSettings;
  /** Each caller's share of AppFabric (CALLER_MAX_*). */
  callers: CallerBudgetSettings;
  /** The audit trail of starts and reads (AUDIT_LOG, AUDIT_KEY). */
  audit: AuditSettings;
  /** How replicas act as one toward AppFabric: result cache, Redis, fleet-wide call rate. */
  fleet: FleetSettings;
  /** OpenTelemetry traces over OTLP/HTTP, from the standard `OTEL_*` variables; undefined: off. */
  tracing?: TracingSettings;
  /** The embedded emulator's behaviour (emulator mode only). */
  emulator: { latencyMs: number; faults: EmulatorFaultRule[] };
}

const DEFAULT_PORT = 4000;
/** Small against AppFabric's round trip (tens of ms), long enough for concurrent operations to meet. */
const DEFAULT_COALESCE_MS = 2;
const DEFAULT_HOST = "0.0.0.0";
const NODE_ENVS = ["production", "development", "test"];
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const DEFAULT_REGION = "us-east-1";
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** What the environment's variables do not hold but AWS SDKs would also read. */
export interface ConfigSources {
  /** The region of the AWS profile in the shared config file (`sharedConfigRegion`), used when `AWS_REGION` and `AWS_DEFAULT_REGION` are unset. */
  profileRegion?: { region: string; profile: string };
}

/** Reads and validates the configuration. Throws `ConfigError` on the first bad value. */
export function loadConfig(env: Env, sources: ConfigSources = {}): Config {
  const production = readNodeEnv(env) === "production";
  readRetryMode(env);
  return {
    port: readInteger(env, "PORT", DEFAULT_PORT, 0, 65535),
    host: readHost(env),
    logLevel: readLogLevel(env),
    region: readRegion(env, sources.profileRegion),
    upstream: readUpstream(env, production),
    production,
    introspection: readBoolean(env, "GRAPHQL_INTROSPECTION", !production),
    appFabric: {
      timeoutMs: readInteger(env, "APPFABRIC_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 1, 120_000),
      // AWS SDKs' AWS_MAX_ATTEMPTS too; the service's own name wins when both are set.
      maxAttempts: readInteger(env, firstSet(env, "APPFABRIC_MAX_ATTEMPTS", "AWS_MAX_ATTEMPTS"), DEFAULT_MAX_ATTEMPTS, 1, 10),
      maxConcurrency: readInteger(env, "APPFABRIC_MAX_CONCURRENCY", DEFAULT_MAX_CONCURRENCY, 1, 1024),
      coalesceMs: readInteger(env, "APPFABRIC_COALESCE_MS", DEFAULT_COALESCE_MS, 0, 1000),
      maxQueuedIds: readInteger(env, "APPFABRIC_MAX_QUEUED_IDS", DEFAULT_MAX_QUEUED_IDS, 50, 1_000_000),
    },
    limits: {
      operationTimeoutMs: readInteger(env, "OPERATION_TIMEOUT_MS", 15_000, 1, 300_000),
      ...readRequestLimits(env),
      requestTimeoutMs: readInteger(env, "REQUEST_TIMEOUT_MS", 10_000, 100, 300_000),
      maxConnections: readInteger(env, "MAX_CONNECTIONS", 1024, 1, 1_000_000),
      shutdownGraceMs: readInteger(env, "SHUTDOWN_GRACE_MS", 10_000, 0, 300_000),
    },
    subscriptions: readSubscriptions(env),
    metricsOperationNames: readOperationNames(env),
    corsOrigins: readOrigins(env),
    auth: readAuth(env),
    callers: readCallerBudgets(env),
    audit: readAudit(env),
    fleet: readFleet(env, production),
    ...optional("tracing", readTracing(env)),
    emulator: readEmulatorBehaviour(env),
  };
}

/** Subscriptions: the watcher's interval, and what bounds subscriptions per connection and per process. */
function readSubscriptions(env: Env): SubscriptionSettings {
  const maxPerConnection = readInteger(env, "SUBSCRIPTION_MAX_PER_CONNECTION", 10, 1, 10_000);
  return {
    watchIntervalMs: readInteger(env, "APPFABRIC_WATCH_INTERVAL_MS", 1_000, 100, 60_000),
    maxPerConnection,
    routerMaxPerConnection: readInteger(env, "ROUTER_SUBSCRIPTION_MAX_PER_CONNECTION", Math.max(1_000, maxPerConnection), maxPerConnection, 100_000),
    maxActive: readInteger(env, "SUBSCRIPTION_MAX_ACTIVE", 10_000, 1, 1_000_000),
    maxWatchedIds: readInteger(env, "SUBSCRIPTION_MAX_WATCHED_IDS", 2_000, 1, 1_000_000),
    maxWatchedIdsPerCaller: readInteger(env, "SUBSCRIPTION_MAX_WATCHED_IDS_PER_CALLER", 500, 1, 1_000_000),
    maxUnauthenticatedConnections: readInteger(env, "WEBSOCKET_MAX_UNAUTHENTICATED", 64, 1, 100_000),
    maxPendingBytes: readInteger(env, "WEBSOCKET_MAX_PENDING_BYTES", 64 * 1024 * 1024, 1024 * 1024, 16 * 1024 * 1024 * 1024),
    maxLifetimeMs: readInteger(env, "SUBSCRIPTION_MAX_LIFETIME_S", 3_600, 1, 7 * 24 * 3_600) * 1_000,
  };
}

/**
 * Each caller's budgets. The defaults keep a busy frontend of one user well inside them: a page that
 * lists the most one operation may (500 ids) every second, or polls its lookups' tasks, and a person
 * starting a lookup every few seconds. A caller's budget is never below one AppFabric call (50 ids).
 */
function readCallerBudgets(env: Env): CallerBudgetSettings {
  return {
    taskIdsPerSecond: readInteger(env, "CALLER_MAX_TASK_IDS_PER_SECOND", 500, 50, 1_000_000),
    startsPerMinute: readInteger(env, "CALLER_MAX_STARTS_PER_MINUTE", 20, 1, 100_000),
    persistedBytesPerMinute: readInteger(env, "CALLER_MAX_PERSISTED_BYTES_PER_MINUTE", 256 * 1024, 1024, 1024 * 1024 * 1024),
  };
}

/** AUDIT_LOG (`stdout`, `off` or a file path) and AUDIT_KEY (the email digests' HMAC key, at least 32 characters). */
function readAudit(env: Env): AuditSettings {
  const raw = setting(env, "AUDIT_LOG") ?? "stdout";
  const destination: AuditSettings["destination"] = raw === "stdout" || raw === "off" ? raw : { path: raw };
  const key = setting(env, "AUDIT_KEY");
  if (key !== undefined && key.length < 32)
    throw new ConfigError("AUDIT_KEY", "at least 32 characters (a random secret, e.g. openssl rand -hex 32)", `${key.length} characters`);
  return key === undefined ? { destination } : { destination, key };
}

/**
 * What one request may ask for: direct callers' limits, and the wider ones of requests that carry the
 * router secret (a router's query plans merge fetches and repeat references). A router's limits are
 * never narrower than a direct caller's.
 */
function readRequestLimits(env: Env): Pick<ServerLimits, "maxTaskIdsPerOperation" | "maxRequestBytes" | "router"> {
  const maxTaskIdsPerOperation = readInteger(env, "MAX_TASK_IDS_PER_OPERATION", 500, 1, 100_000);
  const maxRequestBytes = readInteger(env, "MAX_REQUEST_BYTES", 100 * 1024, 1024, 100 * 1024 * 1024);
  return {
    maxTaskIdsPerOperation,
    maxRequestBytes,
    router: {
      maxTaskIdsPerOperation: readInteger(env, "ROUTER_MAX_TASK_IDS_PER_OPERATION", Math.max(5_000, maxTaskIdsPerOperation), maxTaskIdsPerOperation, 100_000),
      maxRequestBytes: readInteger(env, "ROUTER_MAX_REQUEST_BYTES", Math.max(1024 * 1024, maxRequestBytes), maxRequestBytes, 100 * 1024 * 1024),
      maxAliases: readInteger(env, "ROUTER_MAX_ALIASES", 200, CLIENT_MAX_ALIASES, 10_000),
    },
  };
}

/** `{ key: value }` when the value is set, `{}` otherwise: optional settings stay absent, not undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [key in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [key in K]?: V });
}

/** NODE_ENV is read strictly: a typo such as `prod` would otherwise start with Sandbox and introspection on. */
function readNodeEnv(env: Env): string | undefined {
  const raw = setting(env, "NODE_ENV");
  if (raw !== undefined && !NODE_ENVS.includes(raw)) throw new ConfigError("NODE_ENV", `one of ${NODE_ENVS.join(", ")}, or unset`, raw);
  return raw;
}

/** What `npm run emulator` (the standalone emulator, `src/runEmulator.ts`) is run with. */
export interface EmulatorConfig extends EmulatorBehaviour {
  host: string;
  port: number;
  region: string;
}

/** How the emulator answers, embedded or standalone: `APPFABRIC_EMULATOR_LATENCY_MS` and `APPFABRIC_EMULATOR_FAULTS`. */
type EmulatorBehaviour = Config["emulator"];

function readEmulatorBehaviour(env: Env): EmulatorBehaviour {
  return { latencyMs: readInteger(env, "APPFABRIC_EMULATOR_LATENCY_MS", 0, 0, 60_000), faults: readFaults(env) };
}

/** The standalone emulator's port when `EMULATOR_PORT` is unset. */
export const DEFAULT_EMULATOR_PORT = 4510;

/**
 * The standalone emulator's settings: the embedded emulator's own (`AWS_REGION`,
 * `APPFABRIC_EMULATOR_LATENCY_MS`, `APPFABRIC_EMULATOR_FAULTS`), with `EMULATOR_HOST` (default
 * 127.0.0.1: it accepts the published demo key, so it is not for other machines unless asked) and
 * `EMULATOR_PORT`.
 */
export function loadEmulatorConfig(env: Env): EmulatorConfig {
  return {
    host: readHost(env, "EMULATOR_HOST", "127.0.0.1"),
    port: readInteger(env, "EMULATOR_PORT", DEFAULT_EMULATOR_PORT, 0, 65535),
    region: readRegion(env),
    ...readEmulatorBehaviour(env),
  };
}

/** HOST (or `variable`) must be an IP address or a plain host name, so that a typo stops the start with one line. */
function readHost(env: Env, variable = "HOST", fallback = DEFAULT_HOST): string {
  const raw = setting(env, variable);
  if (raw === undefined) return fallback;
  if (isIP(raw) === 0 && !HOST_NAME.test(raw)) throw new ConfigError(variable, "an IP address (0.0.0.0, ::, 127.0.0.1) or a host name such as localhost", raw);
  return raw;
}

function readOperationNames(env: Env): string[] {
  const raw = setting(env, "METRICS_OPERATION_NAMES");
  if (raw === undefined) return [];
  const names = raw.split(",").map((name) => name.trim());
  const bad = names.find((name) => !OPERATION_NAME.test(name));
  if (bad !== undefined)
    throw new ConfigError("METRICS_OPERATION_NAMES", "a comma-separated list of GraphQL operation names (letters, digits, _; at most 64)", bad);
  if (names.length > 100) throw new ConfigError("METRICS_OPERATION_NAMES", "at most 100 names", `${names.length} names`);
  return names;
}

function readOrigins(env: Env): string[] {
  const raw = setting(env, "CORS_ORIGINS");
  if (raw === undefined) return [];
  return raw.split(",").map((entry) => {
    const origin = entry.trim();
    if (parseUrl(origin)?.origin !== origin) {
      throw new ConfigError("CORS_ORIGINS", "a comma-separated list of origins such as https://app.example.com (scheme, host and port only)", shownUrl(origin));
    }
    return origin;
  });
}

function readFaults(env: Env): EmulatorFaultRule[] {
  const raw = setting(env, "APPFABRIC_EMULATOR_FAULTS");
  if (raw === undefined) return [];
  const parsed = parseFaultRules(raw);
  if (typeof parsed === "string") throw new ConfigError("APPFABRIC_EMULATOR_FAULTS", `a JSON list of fault rules (see the README): ${parsed}`, raw);
  return parsed;
}

function readLogLevel(env: Env): LevelWithSilent {
  const raw = setting(env, "LOG_LEVEL");
  if (raw === undefined) return "info";
  const level = LOG_LEVELS.find((candidate) => candidate === raw.toLowerCase());
  if (level === undefined) throw new ConfigError("LOG_LEVEL", `one of ${LOG_LEVELS.join(", ")}`, raw);
  return level;
}

/** Of `variables`, the first that is set (the one to read and to name in errors); the last when none is. */
function firstSet(env: Env, ...variables: [string, ...string[]]): string {
  return variables.find((variable) => setting(env, variable) !== undefined) ?? variables[variables.length - 1] ?? variables[0];
}

/** As AWS SDKs resolve it: `AWS_REGION`, `AWS_DEFAULT_REGION`, then the profile's `region` in the shared config file. */
function readRegion(env: Env, profileRegion?: ConfigSources["profileRegion"]): string {
  const variable = firstSet(env, "AWS_REGION", "AWS_DEFAULT_REGION");
  const raw = setting(env, variable);
  if (raw === undefined) {
    if (profileRegion === undefined) return DEFAULT_REGION;
    if (!REGION_PATTERN.test(profileRegion.region)) {
      throw new ConfigError(`region (profile ${profileRegion.profile} of the AWS config file)`, "an AWS region such as us-east-1", profileRegion.region);
    }
    return profileRegion.region;
  }
  if (!REGION_PATTERN.test(raw)) throw new ConfigError(variable, "an AWS region such as us-east-1", raw);
  return raw;
}

/**
 * `AWS_RETRY_MODE`, as AWS SDKs read it: `standard` (smithy's `StandardRetryStrategy`, what this service
 * runs) or unset. `adaptive` adds a per-process client-side rate limiter; this service has the fleet's
 * shared hold and `APPFABRIC_MAX_CALLS_PER_SECOND` for that, across replicas, so it is refused rather
 * than half-honoured; so is `legacy` (botocore's).
 */
function readRetryMode(env: Env): void {
  const raw = setting(env, "AWS_RETRY_MODE");
  if (raw === undefined || raw === "standard") return;
  throw new ConfigError(
    "AWS_RETRY_MODE",
    "standard or unset (adaptive is not implemented: the fleet's shared throttling hold and APPFABRIC_MAX_CALLS_PER_SECOND do its work across replicas)",
    raw,
  );
}

function readUpstream(env: Env, production: boolean): Config["upstream"] {
  const bundle = setting(env, "APPFABRIC_APP_BUNDLE");
  const endpoint = setting(env, "APPFABRIC_ENDPOINT");
  const emulator = setting(env, "APPFABRIC_EMULATOR");
  if (emulator !== undefined && emulator !== "true" && emulator !== "false") {
    throw new ConfigError("APPFABRIC_EMULATOR", "true or false", emulator);
  }
  if (bundle === undefined) {
    if (endpoint !== undefined) {
      throw new ConfigError("APPFABRIC_APP_BUNDLE", "set when APPFABRIC_ENDPOINT is (unset both to use the embedded emulator)", "");
    }
    // Outside production the emulator is the default; in production it must be asked for, so that a
    // forgotten setting never serves demo data.
    if (production && emulator !== "true") {
      throw new ConfigError("APPFABRIC_APP_BUNDLE", "set in production (or APPFABRIC_EMULATOR=true to run on the embedded emulator)", "");
    }
    return { kind: "emulator" };
  }
  if (endpoint !== undefined) return awsUpstream(bundle, emulator, "APPFABRIC_ENDPOINT", endpoint);
  // The SDKs' endpoint variables, service-specific first, for real AppFabric only (with an app bundle):
  // a machine's AWS_ENDPOINT_URL, set for another tool, never turns the emulator demo into an error.
  const aliased = sdkEndpointVariable(env);
  return awsUpstream(bundle, emulator, aliased ?? "APPFABRIC_ENDPOINT", aliased === undefined ? undefined : setting(env, aliased));
}

/** `AWS_ENDPOINT_URL_APPFABRIC`, else `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (as AWS SDKs read them). */
function sdkEndpointVariable(env: Env): string | undefined {
  if (setting(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.toLowerCase() === "true") return undefined;
  return ["AWS_ENDPOINT_URL_APPFABRIC", "AWS_ENDPOINT_URL"].find((variable) => setting(env, variable) !== undefined);
}

function awsUpstream(bundle: string, emulator: string | undefined, endpointVariable: string, endpoint: string | undefined): Config["upstream"] {
  if (emulator === "true") {
    throw new ConfigError("APPFABRIC_EMULATOR", "unset or false when APPFABRIC_APP_BUNDLE is set", emulator);
  }
  if (!isAppBundleIdentifier(bundle)) {
    throw new ConfigError("APPFABRIC_APP_BUNDLE", "an app bundle ARN (arn:…) or lower-case UUID of at most 1011 characters", bundle);
  }
  return endpoint === undefined
    ? { kind: "aws", appBundleIdentifier: bundle }
    : { kind: "aws", appBundleIdentifier: bundle, endpoint: readEndpoint(endpoint, endpointVariable) };
}

function readEndpoint(raw: string, variable = "APPFABRIC_ENDPOINT"): URL {
  const url = parseHttpUrl(raw);
  // Requests are signed with AWS credentials; a user or password in the URL is never used, and would be logged.
  if (url === undefined || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(variable, "an http(s) URL without user, password, query or fragment, e.g. https://appfabric.us-east-1.amazonaws.com", shownUrl(raw));
  }
  return url;
}
