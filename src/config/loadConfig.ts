import type { AuditSettings } from "../callers/AuditTrail.js";
import type { CallerBudgetSettings } from "../callers/CallerBudgets.js";
import type { TracingSettings } from "../observability/TracingSettings.js";
import type { AuthSettings } from "../server/createAuthenticator.js";
import type { ServerLimits, SubscriptionSettings } from "../server/ServerSettings.js";
import type { LevelWithSilent } from "pino";
import { appendProblem } from "./appendProblem.js";
import { integerSpecOf, type IntegerSettingName } from "./catalogue.js";
import { ConfigError } from "./ConfigError.js";
import { readBoolean, readInteger, readText, setting, type Env } from "./env.js";
import { environmentNotes, type EnvironmentNotes } from "./environmentNotes.js";
import { readEmulatorBehaviour, type EmulatorBehaviour } from "./loadEmulatorConfig.js";
import { readAuth } from "./readAuth.js";
import { readFleet, type FleetSettings } from "./readFleet.js";
import { readLandingPage } from "./readLandingPage.js";
import { readHost, readLogLevel, readNodeEnv, readOperationNames, readOrigins } from "./readListening.js";
import { readTracing } from "./readTracing.js";
import { readTrustedDocuments } from "./readTrustedDocuments.js";
import type { TrustedDocuments } from "../server/admission/trustedDocuments.js";
import type { BuiltExplorer } from "../server/explorer/graphiqlExplorer.js";
import { readRegion, readRetryMode, readUpstream, type ProfileRegion, type Upstream } from "./readUpstream.js";

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
  upstream: Upstream;
  /** `NODE_ENV=production`: no stack traces, and Sandbox and introspection off unless enabled. */
  production: boolean;
  /** Introspection and Sandbox. */
  introspection: boolean;
  /** LANDING_PAGE=graphiql with introspection on: GraphiQL, as built, instead of Sandbox. */
  graphiql?: BuiltExplorer;
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
  /** PERSISTED_DOCUMENTS with its manifest; undefined: off. */
  trustedDocuments?: TrustedDocuments;
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
  emulator: EmulatorBehaviour;
  /** Former names and likely typos in the environment, warned about at start (`settingWarnings`). */
  environment?: EnvironmentNotes;
}

/** What the environment's variables do not hold but AWS SDKs would also read. */
export interface ConfigSources {
  /** The region of the AWS profile in the shared config file (`sharedConfigRegion`), used when `AWS_REGION` and `AWS_DEFAULT_REGION` are unset. */
  profileRegion?: ProfileRegion;
}

/** Reads and validates the configuration. Throws `ConfigError` on the first bad value. */
export function loadConfig(env: Env, sources: ConfigSources = {}): Config {
  const production = readNodeEnv(env) === "production";
  readRetryMode(env);
  const introspection = readBoolean(env, "GRAPHQL_INTROSPECTION", !production);
  return {
    port: readInteger(env, "PORT"),
    host: readHost(env),
    logLevel: readLogLevel(env),
    region: readRegion(env, sources.profileRegion),
    upstream: readUpstream(env, production),
    production,
    introspection,
    ...optional("graphiql", readLandingPage(env, introspection)),
    appFabric: {
      timeoutMs: readInteger(env, "APPFABRIC_TIMEOUT_MS"),
      // AWS SDKs' AWS_MAX_ATTEMPTS too (an alias); the service's own name wins when both are set.
      maxAttempts: readInteger(env, "APPFABRIC_MAX_ATTEMPTS"),
      maxConcurrency: readInteger(env, "APPFABRIC_MAX_CONCURRENCY"),
      coalesceMs: readInteger(env, "APPFABRIC_COALESCE_MS"),
      maxQueuedIds: readInteger(env, "APPFABRIC_MAX_QUEUED_IDS"),
    },
    limits: {
      operationTimeoutMs: readInteger(env, "OPERATION_TIMEOUT_MS"),
      ...readRequestLimits(env),
      requestTimeoutMs: readInteger(env, "REQUEST_TIMEOUT_MS"),
      maxConnections: readInteger(env, "MAX_CONNECTIONS"),
      shutdownGraceMs: readInteger(env, "SHUTDOWN_GRACE_MS"),
    },
    subscriptions: readSubscriptions(env),
    ...optional("trustedDocuments", readTrustedDocuments(env)),
    metricsOperationNames: readOperationNames(env),
    corsOrigins: readOrigins(env),
    auth: readAuth(env),
    callers: readCallerBudgets(env),
    audit: readAudit(env),
    fleet: readFleet(env, production),
    ...optional("tracing", readTracing(env)),
    emulator: readEmulatorBehaviour(env),
    ...optional("environment", noted(environmentNotes(env))),
  };
}

/** Subscriptions: the watcher's interval, and what bounds subscriptions per connection and per process. */
function readSubscriptions(env: Env): SubscriptionSettings {
  const maxPerConnection = readInteger(env, "SUBSCRIPTION_MAX_PER_CONNECTION");
  return {
    watchIntervalMs: readInteger(env, "SUBSCRIPTION_WATCH_INTERVAL_MS"),
    maxPerConnection,
    routerMaxPerConnection: readInteger(env, "ROUTER_SUBSCRIPTION_MAX_PER_CONNECTION", atLeast(maxPerConnection, "ROUTER_SUBSCRIPTION_MAX_PER_CONNECTION")),
    maxActive: readInteger(env, "SUBSCRIPTION_MAX_ACTIVE"),
    maxWatchedIds: readInteger(env, "SUBSCRIPTION_MAX_WATCHED_IDS"),
    maxWatchedIdsPerCaller: readInteger(env, "SUBSCRIPTION_MAX_WATCHED_IDS_PER_CALLER"),
    maxUnauthenticatedConnections: readInteger(env, "WEBSOCKET_MAX_UNAUTHENTICATED"),
    maxPendingBytes: readInteger(env, "WEBSOCKET_MAX_PENDING_BYTES"),
    maxLifetimeMs: readInteger(env, "SUBSCRIPTION_MAX_LIFETIME_S") * 1_000,
  };
}

/**
 * Each caller's budgets. The defaults keep a busy frontend of one user well inside them: a page that
 * lists the most one operation may (500 ids) every second, or polls its lookups' tasks, and a person
 * starting a lookup every few seconds. A caller's budget is never below one AppFabric call (50 ids).
 */
function readCallerBudgets(env: Env): CallerBudgetSettings {
  return {
    taskIdsPerSecond: readInteger(env, "CALLER_MAX_TASK_IDS_PER_SECOND"),
    startsPerMinute: readInteger(env, "CALLER_MAX_STARTS_PER_MINUTE"),
    persistedBytesPerMinute: readInteger(env, "CALLER_MAX_PERSISTED_BYTES_PER_MINUTE"),
  };
}

/** AUDIT_LOG (`stdout`, `off` or a file path) and AUDIT_KEY (the email digests' HMAC key, at least 32 characters). */
function readAudit(env: Env): AuditSettings {
  const raw = readText(env, "AUDIT_LOG") ?? "stdout";
  const destination: AuditSettings["destination"] = raw === "stdout" || raw === "off" ? raw : { path: raw };
  const problem = typeof destination === "object" ? appendProblem(destination.path) : undefined;
  if (problem !== undefined) throw new ConfigError("AUDIT_LOG", "stdout, off, or a file this process can append to (or create)", `${raw} (${problem})`);
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
  const maxTaskIdsPerOperation = readInteger(env, "MAX_TASK_IDS_PER_OPERATION");
  const maxRequestBytes = readInteger(env, "MAX_REQUEST_BYTES");
  return {
    maxTaskIdsPerOperation,
    maxRequestBytes,
    router: {
      maxTaskIdsPerOperation: readInteger(env, "ROUTER_MAX_TASK_IDS_PER_OPERATION", atLeast(maxTaskIdsPerOperation, "ROUTER_MAX_TASK_IDS_PER_OPERATION")),
      maxRequestBytes: readInteger(env, "ROUTER_MAX_REQUEST_BYTES", atLeast(maxRequestBytes, "ROUTER_MAX_REQUEST_BYTES")),
      maxAliases: readInteger(env, "ROUTER_MAX_ALIASES"),
    },
  };
}

/** The notes when there are any: a clean environment's configuration carries none. */
function noted(notes: EnvironmentNotes): EnvironmentNotes | undefined {
  return notes.deprecated.length + notes.unknown.length === 0 ? undefined : notes;
}

/** `{ key: value }` when the value is set, `{}` otherwise: optional settings stay absent, not undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [key in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [key in K]?: V });
}

/** A router's limit: never below the client's (`min`), its catalogued default raised to it. */
function atLeast(min: number, name: IntegerSettingName): { min: number; fallback: number } {
  return { min, fallback: Math.max(integerSpecOf(name).default ?? min, min) };
}
