import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../../src/config/loadConfig.js";
import { loadEmulatorConfig } from "../../src/config/loadEmulatorConfig.js";
import { sharedConfigRegion } from "../../src/config/sharedConfigRegion.js";

const PUBLIC_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();

describe("loadConfig", () => {
  it("defaults to port 4000, us-east-1, the embedded emulator and the documented limits", () => {
    expect(loadConfig({})).toEqual({
      port: 4000,
      host: "0.0.0.0",
      logLevel: "info",
      region: "us-east-1",
      upstream: { kind: "emulator" },
      production: false,
      introspection: true,
      appFabric: { timeoutMs: 5000, maxAttempts: 3, maxConcurrency: 8, coalesceMs: 2, maxQueuedIds: 5000 },
      limits: {
        operationTimeoutMs: 15000,
        maxTaskIdsPerOperation: 500,
        maxRequestBytes: 102400,
        router: { maxTaskIdsPerOperation: 5000, maxRequestBytes: 1048576, maxAliases: 200 },
        requestTimeoutMs: 10000,
        maxConnections: 1024,
        shutdownGraceMs: 10000,
      },
      subscriptions: {
        watchIntervalMs: 1000,
        maxPerConnection: 10,
        routerMaxPerConnection: 1000,
        maxActive: 10_000,
        maxWatchedIds: 2000,
        maxWatchedIdsPerCaller: 500,
        maxUnauthenticatedConnections: 64,
        maxPendingBytes: 67_108_864,
        maxLifetimeMs: 3_600_000,
      },
      metricsOperationNames: [],
      corsOrigins: [],
      auth: {},
      callers: { taskIdsPerSecond: 500, startsPerMinute: 20, persistedBytesPerMinute: 262_144 },
      audit: { destination: "stdout" },
      fleet: { resultCache: { finalTtlMs: 300_000, inProgressMs: 1_000, maxEntries: 10_000 } },
      emulator: { latencyMs: 0, faults: [] },
    });
  });

  it("reads the scopes each action needs, only with JWT verification on, one scope name each", () => {
    const jwt = { AUTH_JWT_PUBLIC_KEY: PUBLIC_KEY, AUTH_JWT_ISSUER: "https://login.example.com/", AUTH_JWT_AUDIENCE: "user-access" };
    expect(loadConfig({ ...jwt, AUTH_SCOPE_READ: "appfabric:read", AUTH_SCOPE_START: "appfabric:start" }).auth.scopes).toEqual({
      read: "appfabric:read",
      start: "appfabric:start",
    });
    expect(loadConfig({ ...jwt, AUTH_SCOPE_START: "lookups.start" }).auth.scopes).toEqual({ start: "lookups.start" });
    expect(loadConfig(jwt).auth.scopes).toBeUndefined();
    expect(() => loadConfig({ AUTH_SCOPE_READ: "read" })).toThrow("AUTH_SCOPE_READ must be unset unless JWT verification is on");
    expect(() => loadConfig({ ROUTER_SECRET: "a-router-secret-of-16+", AUTH_SCOPE_START: "start" })).toThrow("AUTH_SCOPE_START must be unset unless JWT");
    expect(() => loadConfig({ ...jwt, AUTH_SCOPE_READ: "read write" })).toThrow("AUTH_SCOPE_READ must be one scope name");
    expect(() => loadConfig({ ...jwt, AUTH_SCOPE_READ: 'a"b' })).toThrow("AUTH_SCOPE_READ must be one scope name");
  });

  it("reads the callers' budgets and the audit trail's destination and key", () => {
    expect(
      loadConfig({ CALLER_MAX_TASK_IDS_PER_SECOND: "50", CALLER_MAX_STARTS_PER_MINUTE: "3", CALLER_MAX_PERSISTED_BYTES_PER_MINUTE: "4096" }).callers,
    ).toEqual({ taskIdsPerSecond: 50, startsPerMinute: 3, persistedBytesPerMinute: 4096 });
    expect(() => loadConfig({ CALLER_MAX_PERSISTED_BYTES_PER_MINUTE: "1023" })).toThrow("CALLER_MAX_PERSISTED_BYTES_PER_MINUTE must be an integer from 1024");
    expect(() => loadConfig({ CALLER_MAX_TASK_IDS_PER_SECOND: "49" })).toThrow("CALLER_MAX_TASK_IDS_PER_SECOND must be an integer from 50");
    const file = join(tmpdir(), `audit-${process.pid}.jsonl`);
    expect(loadConfig({ AUDIT_LOG: file, AUDIT_KEY: "k".repeat(32) }).audit).toEqual({ destination: { path: file }, key: "k".repeat(32) });
    expect(existsSync(file)).toBe(false); // checked, not created
    // A file the process could not append to stops the start with one line, not a crash at the first write.
    expect(() => loadConfig({ AUDIT_LOG: "/nonexistent/folder/audit.jsonl" })).toThrow(
      'AUDIT_LOG must be stdout, off, or a file this process can append to (or create); received "/nonexistent/folder/audit.jsonl (ENOENT)".',
    );
    expect(() => loadConfig({ AUDIT_LOG: tmpdir() })).toThrow(`received "${tmpdir()} (a directory)"`);
    expect(loadConfig({ AUDIT_LOG: "off" }).audit).toEqual({ destination: "off" });
    expect(() => loadConfig({ AUDIT_KEY: "short" })).toThrow("AUDIT_KEY must be at least 32 characters");
    expect(() => loadConfig({ AUDIT_KEY: "short" })).not.toThrow(/short/);
  });

  it("never gives a router narrower limits than a direct caller", () => {
    expect(loadConfig({ MAX_TASK_IDS_PER_OPERATION: "8000", MAX_REQUEST_BYTES: "2097152" }).limits.router).toEqual({
      maxTaskIdsPerOperation: 8000,
      maxRequestBytes: 2097152,
      maxAliases: 200,
    });
    expect(() => loadConfig({ MAX_TASK_IDS_PER_OPERATION: "800", ROUTER_MAX_TASK_IDS_PER_OPERATION: "700" })).toThrow(
      "ROUTER_MAX_TASK_IDS_PER_OPERATION must be an integer from 800 to 100000",
    );
    expect(() => loadConfig({ ROUTER_MAX_ALIASES: "10" })).toThrow("ROUTER_MAX_ALIASES must be an integer from 20 to 10000");
    expect(() => loadConfig({ ROUTER_MAX_REQUEST_BYTES: "1024" })).toThrow("ROUTER_MAX_REQUEST_BYTES must be an integer from 102400");
  });

  it("turns tracing on from the standard OTEL_* variables only when an endpoint is named", () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_SERVICE_NAME: "x", OTEL_TRACES_SAMPLER: "always_on" }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).tracing).toEqual({
      url: new URL("http://collector:4318/v1/traces"),
      protocol: "http/protobuf",
      sampler: { root: "always_on", parentBased: true, ratio: 1 },
      resource: { "service.name": "appfabric-user-access-subgraph" },
    });
    const traces = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://ignored:4318/",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "https://collector.example.com/otlp/traces",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.25",
    }).tracing;
    expect(traces).toEqual({
      url: new URL("https://collector.example.com/otlp/traces"),
      protocol: "http/json",
      sampler: { root: "traceidratio", parentBased: true, ratio: 0.25 },
      resource: { "service.name": "appfabric-user-access-subgraph" },
    });
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c/prefix/" }).tracing?.url.href).toBe("http://c/prefix/v1/traces");
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" }).tracing).toBeUndefined();
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" }).tracing).toBeUndefined();
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow("grpc is not supported");
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" })).toThrow("OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL");
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "sometimes" })).toThrow("OTEL_TRACES_SAMPLER must be");
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(
      "OTEL_TRACES_SAMPLER_ARG must be a ratio from 0 to 1",
    );
  });

  it("refuses a value of only blanks instead of reading it as unset: a blank ROUTER_SECRET must not turn authentication off", () => {
    expect(() => loadConfig({ ROUTER_SECRET: " ".repeat(20) })).toThrow("ROUTER_SECRET must be a value, or unset (it holds only blanks)");
    expect(() => loadConfig({ AUTH_JWKS_URL: "\t " })).toThrow("AUTH_JWKS_URL must be a value, or unset");
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toThrow("OTEL_EXPORTER_OTLP_ENDPOINT must be a value, or unset");
    expect(loadConfig({ ROUTER_SECRET: "" }).auth).toEqual({});
  });

  it("refuses a ROUTER_SECRET no router could send: invisible or non-ASCII characters", () => {
    expect(() => loadConfig({ ROUTER_SECRET: "\u200b".repeat(16) })).toThrow("ROUTER_SECRET must be printable ASCII characters");
    expect(() => loadConfig({ ROUTER_SECRET: "sécret-sécret-sécret" })).toThrow("ROUTER_SECRET must be printable ASCII characters");
    expect(loadConfig({ ROUTER_SECRET: "a long secret, with spaces!" }).auth.routerSecret).toBe("a long secret, with spaces!");
  });

  it("never repeats credentials a URL setting may hold in its error", () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return String(error);
      }
      return "";
    };
    const endpoint = message({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://user:pw@127.0.0.1:4318/" });
    expect(endpoint).toContain("OTEL_EXPORTER_OTLP_ENDPOINT must be");
    expect(endpoint).not.toMatch(/user|pw/);
    const traces = message({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces?token=SECRETQ" });
    expect(traces).not.toContain("SECRETQ");
    expect(message({ APPFABRIC_APP_BUNDLE: "arn:aws:appfabric:x", APPFABRIC_ENDPOINT: "https://k:s@h/?sig=abc" })).not.toMatch(/k:s|abc/);
    // A valid endpoint with a user and password is refused, not started with (its URL is logged at start).
    const userinfo = message({ APPFABRIC_APP_BUNDLE: "arn:aws:appfabric:x", APPFABRIC_ENDPOINT: "https://USERX:PASSX@host/" });
    expect(userinfo).toContain("APPFABRIC_ENDPOINT must be an http(s) URL without user, password");
    expect(userinfo).not.toContain("PASSX");
    expect(message({ AUTH_JWKS_URL: "ftp://a:b@h/jwks", AUTH_JWT_ISSUER: "i", AUTH_JWT_AUDIENCE: "a" })).not.toContain("a:b");
    // Without "//", `user:password@host` parses as a scheme and a path: never shown.
    for (const variable of ["OTEL_EXPORTER_OTLP_ENDPOINT", "CORS_ORIGINS"]) expect(message({ [variable]: "USERX:PASSX@h:443" })).not.toContain("PASSX");
    expect(message({ OTEL_EXPORTER_OTLP_ENDPOINT: "mailto:USERX:PASSX@h" })).not.toContain("PASSX");
    expect(message({ OTEL_EXPORTER_OTLP_ENDPOINT: "ftp://h/x#token=FRAGSECRET" })).not.toContain("FRAGSECRET");
    // Redis: the password of a refused URL is never repeated.
    const redis = message({ REDIS_URL: "redis://:REDISPW@cache.internal:6379/0?tls=1" });
    expect(redis).toContain("REDIS_URL must be a redis:// or rediss:// URL");
    expect(redis).not.toContain("REDISPW");
    expect(message({ REDIS_URL: "http://:REDISPW@cache.internal" })).not.toContain("REDISPW");
    expect(message({ REDIS_URL: ":REDISPW@cache.internal:6379" })).not.toContain("REDISPW");
  });

  it("reads the fleet's settings: Redis with TLS and AUTH in the URL, the cache, the call rate", () => {
    const config = loadConfig({
      REDIS_URL: "rediss://app:pw@cache.internal:6380/2",
      REDIS_KEY_PREFIX: "team-a:",
      REDIS_TIMEOUT_MS: "50",
      RESULT_CACHE_FINAL_TTL_S: "60",
      RESULT_CACHE_IN_PROGRESS_MS: "2000",
      APPFABRIC_MAX_CALLS_PER_SECOND: "20",
    });
    expect(config.fleet).toEqual({
      resultCache: { finalTtlMs: 60_000, inProgressMs: 2_000, maxEntries: 10_000 },
      redis: {
        url: new URL("rediss://app:pw@cache.internal:6380/2"),
        keyPrefix: "team-a:",
        timeoutMs: 50,
        values: "plain",
        persistedQueriesMaxBytes: 64 * 1024 * 1024,
      },
      maxCallsPerSecond: 20,
    });
    expect(loadConfig({ RESULT_CACHE: "off" }).fleet).toEqual({});
    const refused: Array<[string, string]> = [
      ["RESULT_CACHE", "no"],
      ["REDIS_URL", "redis://cache.internal/db"],
      ["REDIS_KEY_PREFIX", "has space"],
      ["REDIS_TIMEOUT_MS", "0"],
      ["APPFABRIC_MAX_CALLS_PER_SECOND", "0"],
      ["RESULT_CACHE_IN_PROGRESS_MS", "60001"],
    ];
    for (const [variable, value] of refused) {
      expect(() => loadConfig({ [variable]: value }), variable).toThrow(new RegExp(`^${variable} must be`));
    }
  });

  it("seals results in Redis with REDIS_ENCRYPTION_KEY; production refuses Redis without one unless RESULT_CACHE_SHARED=plain; no key is ever echoed", () => {
    const key = randomBytes(32).toString("base64");
    const previous = randomBytes(32).toString("base64");
    const redis = { REDIS_URL: "redis://cache.internal:6379" };
    const production = { ...redis, NODE_ENV: "production", APPFABRIC_EMULATOR: "true" };
    expect(loadConfig({ ...redis, REDIS_ENCRYPTION_KEY: key }).fleet.redis?.values).toEqual({ current: Buffer.from(key, "base64") });
    expect(loadConfig({ ...production, REDIS_ENCRYPTION_KEY: key, REDIS_ENCRYPTION_KEY_PREVIOUS: previous }).fleet.redis?.values).toEqual({
      current: Buffer.from(key, "base64"),
      previous: Buffer.from(previous, "base64"),
    });
    expect(loadConfig({ ...production, RESULT_CACHE_SHARED: "plain" }).fleet.redis?.values).toBe("plain");
    // Outside production, no key means values in clear (the service says so when it connects).
    expect(loadConfig(redis).fleet.redis?.values).toBe("plain");
    expect(() => loadConfig(production)).toThrow(/^REDIS_ENCRYPTION_KEY must be set with REDIS_URL in production .*RESULT_CACHE_SHARED=plain/);
    const refused: Array<[Record<string, string>, RegExp]> = [
      [{ REDIS_ENCRYPTION_KEY: key.slice(0, -2) }, /^REDIS_ENCRYPTION_KEY must be 32 random bytes in base64/],
      [{ REDIS_ENCRYPTION_KEY: randomBytes(16).toString("base64") }, /^REDIS_ENCRYPTION_KEY must be/],
      [{ REDIS_ENCRYPTION_KEY: `${key.slice(0, -2)}!=` }, /^REDIS_ENCRYPTION_KEY must be/],
      [{ REDIS_ENCRYPTION_KEY: key, REDIS_ENCRYPTION_KEY_PREVIOUS: "short" }, /^REDIS_ENCRYPTION_KEY_PREVIOUS must be/],
      [{ REDIS_ENCRYPTION_KEY_PREVIOUS: previous }, /^REDIS_ENCRYPTION_KEY must be set when REDIS_ENCRYPTION_KEY_PREVIOUS is/],
      [{ REDIS_ENCRYPTION_KEY: key, REDIS_ENCRYPTION_KEY_PREVIOUS: key }, /^REDIS_ENCRYPTION_KEY_PREVIOUS must be another key/],
      [{ REDIS_ENCRYPTION_KEY: key, RESULT_CACHE_SHARED: "plain" }, /^RESULT_CACHE_SHARED must be sealed \(or unset\)/],
      [{ RESULT_CACHE_SHARED: "sealed" }, /^REDIS_ENCRYPTION_KEY must be set when RESULT_CACHE_SHARED=sealed/],
      [{ RESULT_CACHE_SHARED: "clear" }, /^RESULT_CACHE_SHARED must be sealed or plain/],
    ];
    for (const [env, message] of refused) {
      let error: unknown;
      try {
        loadConfig({ ...redis, ...env });
      } catch (thrown) {
        error = thrown;
      }
      const text = error instanceof Error ? error.message : "nothing thrown";
      expect(text, JSON.stringify(Object.keys(env))).toMatch(message);
      for (const secret of [key, previous, key.slice(0, 16), previous.slice(0, 16)]) expect(text).not.toContain(secret);
    }
  });

  it("checks the exporter's own OTEL_* settings when tracing is on, without echoing headers", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_TIMEOUT: "abc" })).toThrow("OTEL_EXPORTER_OTLP_TIMEOUT must be an integer");
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "abc" })).toThrow("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT must be an integer");
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" })).toThrow("OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none");
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_HEADERS: "garbage-secret" })).toThrow(/OTEL_EXPORTER_OTLP_HEADERS must be .*not shown/);
    expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_HEADERS: "garbage-secret" })).not.toThrow(/garbage-secret/);
    expect(loadConfig({ ...on, OTEL_EXPORTER_OTLP_HEADERS: "api-key=abc,x-tenant=t1", OTEL_EXPORTER_OTLP_COMPRESSION: "gzip" }).tracing).toBeDefined();
    for (const headers of ["a=%ZZ", "a=%00", "a=%E2%82%AC", "x-c=v\u20ac", "x-d=%0d%0aX-Injected: 1", "content-length=5", "host=evil", "bad name=1"]) {
      expect(() => loadConfig({ ...on, OTEL_EXPORTER_OTLP_HEADERS: headers }), headers).toThrow("OTEL_EXPORTER_OTLP_HEADERS must be");
    }
    expect(loadConfig({ ...on, OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20abc" }).tracing).toBeDefined();
  });

  it("reads the resource from OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME, refusing what would be dropped in silence", () => {
    const on = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" };
    expect(loadConfig(on).tracing?.resource).toEqual({ "service.name": "appfabric-user-access-subgraph" });
    expect(loadConfig({ ...on, OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,service.name=ra,team=a%20b" }).tracing?.resource).toEqual({
      "deployment.environment": "prod",
      "service.name": "ra",
      team: "a b",
    });
    expect(loadConfig({ ...on, OTEL_RESOURCE_ATTRIBUTES: "service.name=ra", OTEL_SERVICE_NAME: "user-access" }).tracing?.resource["service.name"]).toBe(
      "user-access",
    );
    expect(() => loadConfig({ ...on, OTEL_SERVICE_NAME: " " })).toThrow("OTEL_SERVICE_NAME must be a value, or unset");
    expect(() => loadConfig({ ...on, OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod,junk" })).toThrow("OTEL_RESOURCE_ATTRIBUTES must be");
    expect(() => loadConfig({ ...on, OTEL_RESOURCE_ATTRIBUTES: "a=%ZZ" })).toThrow("OTEL_RESOURCE_ATTRIBUTES must be");
  });

  it("turns introspection off in production unless it is asked for", () => {
    expect(loadConfig({ NODE_ENV: "production", APPFABRIC_EMULATOR: "true" }).introspection).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", APPFABRIC_EMULATOR: "true", GRAPHQL_INTROSPECTION: "true" }).introspection).toBe(true);
  });

  it("reads limits, CORS origins, authentication and emulator faults", () => {
    const config = loadConfig({
      APPFABRIC_TIMEOUT_MS: "2000",
      APPFABRIC_MAX_ATTEMPTS: "5",
      APPFABRIC_MAX_CONCURRENCY: "4",
      APPFABRIC_COALESCE_MS: "0",
      OPERATION_TIMEOUT_MS: "9000",
      MAX_TASK_IDS_PER_OPERATION: "100",
      MAX_REQUEST_BYTES: "2048",
      ROUTER_MAX_TASK_IDS_PER_OPERATION: "2000",
      ROUTER_MAX_REQUEST_BYTES: "65536",
      ROUTER_MAX_ALIASES: "64",
      APPFABRIC_MAX_QUEUED_IDS: "1000",
      REQUEST_TIMEOUT_MS: "3000",
      MAX_CONNECTIONS: "64",
      SHUTDOWN_GRACE_MS: "2500",
      METRICS_OPERATION_NAMES: "TaskStatus, StartLookup",
      CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
      ROUTER_SECRET: "a-router-secret-of-some-length",
      AUTH_JWKS_URL: "https://login.example.com/.well-known/jwks.json",
      AUTH_JWT_ISSUER: "https://login.example.com/",
      AUTH_JWT_AUDIENCE: "user-access",
      AUTH_JWT_MAX_LIFETIME_S: "3600",
      APPFABRIC_EMULATOR_LATENCY_MS: "20",
      APPFABRIC_EMULATOR_FAULTS: '[{"fault":{"kind":"error","status":429,"retryAfter":"1"},"probability":0.1}]',
    });
    expect(config.appFabric).toEqual({ timeoutMs: 2000, maxAttempts: 5, maxConcurrency: 4, coalesceMs: 0, maxQueuedIds: 1000 });
    expect(config.limits).toEqual({
      operationTimeoutMs: 9000,
      maxTaskIdsPerOperation: 100,
      maxRequestBytes: 2048,
      router: { maxTaskIdsPerOperation: 2000, maxRequestBytes: 65536, maxAliases: 64 },
      requestTimeoutMs: 3000,
      maxConnections: 64,
      shutdownGraceMs: 2500,
    });
    expect(config.metricsOperationNames).toEqual(["TaskStatus", "StartLookup"]);
    expect(config.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(config.auth).toEqual({
      routerSecret: "a-router-secret-of-some-length",
      jwt: {
        key: { jwksUrl: new URL("https://login.example.com/.well-known/jwks.json") },
        issuer: "https://login.example.com/",
        audience: "user-access",
        maxLifetimeSeconds: 3600,
      },
    });
    expect(config.emulator).toEqual({ latencyMs: 20, faults: [{ fault: { kind: "error", status: 429, retryAfter: "1" }, probability: 0.1 }] });
  });

  it("reads AWS mode, region and endpoint", () => {
    expect(
      loadConfig({
        PORT: "8080",
        GRAPHQL_INTROSPECTION: "false",
        AWS_REGION: "eu-west-1",
        APPFABRIC_APP_BUNDLE: "arn:aws:appfabric:eu-west-1:111122223333:appbundle/x",
        APPFABRIC_ENDPOINT: "https://vpce-1.appfabric.eu-west-1.vpce.amazonaws.com",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
      }),
    ).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      logLevel: "warn",
      region: "eu-west-1",
      upstream: {
        kind: "aws",
        appBundleIdentifier: "arn:aws:appfabric:eu-west-1:111122223333:appbundle/x",
        endpoint: new URL("https://vpce-1.appfabric.eu-west-1.vpce.amazonaws.com"),
      },
      production: true,
    });
  });

  it("takes AWS_DEFAULT_REGION when AWS_REGION is unset, and AWS_REGION over it", () => {
    expect(loadConfig({ AWS_DEFAULT_REGION: "ap-northeast-1" }).region).toBe("ap-northeast-1");
    expect(loadConfig({ AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "ap-northeast-1" }).region).toBe("eu-west-1");
  });

  it("runs production on the emulator only when asked to", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/^APPFABRIC_APP_BUNDLE must be set in production/);
    expect(loadConfig({ NODE_ENV: "production", APPFABRIC_EMULATOR: "true" }).upstream).toEqual({ kind: "emulator" });
  });

  it("accepts a bundle UUID", () => {
    expect(loadConfig({ APPFABRIC_APP_BUNDLE: "a1b2c3d4-0000-4000-8000-00000000b0d1" }).upstream).toEqual({
      kind: "aws",
      appBundleIdentifier: "a1b2c3d4-0000-4000-8000-00000000b0d1",
    });
  });

  it.each([
    { env: { PORT: "http" }, message: 'PORT must be an integer from 0 to 65535; received "http".' },
    { env: { PORT: "70000" }, message: 'PORT must be an integer from 0 to 65535; received "70000".' },
    { env: { AWS_REGION: "Europe" }, message: 'AWS_REGION must be an AWS region such as us-east-1; received "Europe".' },
    { env: { AWS_DEFAULT_REGION: "us_east_1" }, message: 'AWS_DEFAULT_REGION must be an AWS region such as us-east-1; received "us_east_1".' },
    {
      env: { APPFABRIC_APP_BUNDLE: "my-bundle" },
      message: expect.stringMatching(/^APPFABRIC_APP_BUNDLE must be an app bundle ARN .*; received "my-bundle"\.$/),
    },
    {
      env: { APPFABRIC_APP_BUNDLE: "arn:x", APPFABRIC_ENDPOINT: "appfabric.local" },
      message: expect.stringMatching(/^APPFABRIC_ENDPOINT must be an http\(s\) URL/),
    },
    { env: { APPFABRIC_MAX_ATTEMPTS: "0" }, message: 'APPFABRIC_MAX_ATTEMPTS must be an integer from 1 to 10; received "0".' },
    { env: { CORS_ORIGINS: "*" }, message: expect.stringMatching(/^CORS_ORIGINS must be a comma-separated list of origins/) },
    { env: { CORS_ORIGINS: "https://app.example.com/path" }, message: expect.stringMatching(/^CORS_ORIGINS must be/) },
    { env: { ROUTER_SECRET: "short" }, message: 'ROUTER_SECRET must be at least 16 characters; received "5 characters".' },
    { env: { AUTH_JWT_ISSUER: "https://login.example.com/" }, message: expect.stringMatching(/^AUTH_JWKS_URL must be set/) },
    { env: { AUTH_JWKS_URL: "https://login.example.com/jwks", AUTH_JWT_AUDIENCE: "x" }, message: expect.stringMatching(/^AUTH_JWT_ISSUER must be set/) },
    {
      env: { AUTH_JWT_PUBLIC_KEY: "not a key", AUTH_JWT_ISSUER: "i", AUTH_JWT_AUDIENCE: "a" },
      message: expect.stringMatching(/^AUTH_JWT_PUBLIC_KEY must be a PEM public key/),
    },
    {
      env: { APPFABRIC_EMULATOR_FAULTS: '[{"fault":{"kind":"fire"}}]' },
      message: expect.stringMatching(/^APPFABRIC_EMULATOR_FAULTS must be a JSON list of fault rules .*rule 1: fault.kind must be one of/),
    },
    { env: { LOG_LEVEL: "verbose" }, message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; received "verbose".' },
    { env: { APPFABRIC_EMULATOR: "yes" }, message: 'APPFABRIC_EMULATOR must be true or false; received "yes".' },
    { env: { APPFABRIC_EMULATOR: "true", APPFABRIC_APP_BUNDLE: "arn:x" }, message: expect.stringMatching(/^APPFABRIC_EMULATOR must be unset or false/) },
    { env: { APPFABRIC_ENDPOINT: "http://127.0.0.1:9000" }, message: expect.stringMatching(/^APPFABRIC_APP_BUNDLE must be set when APPFABRIC_ENDPOINT is/) },
  ])("rejects $env with one line naming the variable", ({ env, message }) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ message }));
  });
});

describe("loadEmulatorConfig (npm run emulator)", () => {
  it("defaults to 127.0.0.1:4510 and us-east-1, and reads the embedded emulator's settings", () => {
    expect(loadEmulatorConfig({})).toEqual({ host: "127.0.0.1", port: 4510, region: "us-east-1", latencyMs: 0, faults: [] });
    expect(loadEmulatorConfig({ EMULATOR_HOST: "0.0.0.0", EMULATOR_PORT: "0", AWS_REGION: "eu-west-1", APPFABRIC_EMULATOR_LATENCY_MS: "20" })).toMatchObject({
      host: "0.0.0.0",
      port: 0,
      region: "eu-west-1",
      latencyMs: 20,
    });
  });

  it.each([
    { env: { EMULATOR_PORT: "70000" }, message: expect.stringContaining("EMULATOR_PORT") as unknown },
    { env: { EMULATOR_HOST: "not a host" }, message: expect.stringContaining("EMULATOR_HOST") as unknown },
  ])("rejects $env with one line naming the variable", ({ env, message }) => {
    expect(() => loadEmulatorConfig(env)).toThrow(expect.objectContaining({ message }));
  });
});

describe("AWS's own configuration conventions, as aliases (the service's names win)", () => {
  const BUNDLE = "arn:aws:appfabric:eu-west-1:111122223333:appbundle/a1b2c3d4-0000-4000-8000-00000000b0d1";

  it("takes the endpoint from AWS_ENDPOINT_URL_APPFABRIC, else AWS_ENDPOINT_URL, for real AppFabric only", () => {
    const upstream = (env: Record<string, string>) => loadConfig({ APPFABRIC_APP_BUNDLE: BUNDLE, ...env }).upstream;
    expect(upstream({ AWS_ENDPOINT_URL: "http://127.0.0.1:4510" })).toEqual({
      kind: "aws",
      appBundleIdentifier: BUNDLE,
      endpoint: new URL("http://127.0.0.1:4510"),
    });
    expect(upstream({ AWS_ENDPOINT_URL: "http://a.example", AWS_ENDPOINT_URL_APPFABRIC: "http://b.example" })).toMatchObject({
      endpoint: new URL("http://b.example"),
    });
    expect(upstream({ AWS_ENDPOINT_URL_APPFABRIC: "http://b.example", APPFABRIC_ENDPOINT: "http://c.example" })).toMatchObject({
      endpoint: new URL("http://c.example"),
    });
    expect(upstream({ AWS_ENDPOINT_URL: "http://a.example", AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" })).toEqual({
      kind: "aws",
      appBundleIdentifier: BUNDLE,
    });
    // Without an app bundle the emulator runs, whatever endpoint a machine sets for other tools.
    expect(loadConfig({ AWS_ENDPOINT_URL: "http://a.example" }).upstream).toEqual({ kind: "emulator" });
    // A bad value names the variable it came from.
    expect(() => upstream({ AWS_ENDPOINT_URL_APPFABRIC: "ftp://x" })).toThrow(
      expect.objectContaining({ message: expect.stringContaining("AWS_ENDPOINT_URL_APPFABRIC") as unknown }),
    );
  });

  it("takes the attempts from AWS_MAX_ATTEMPTS unless APPFABRIC_MAX_ATTEMPTS is set; AWS_RETRY_MODE standard only", () => {
    expect(loadConfig({ AWS_MAX_ATTEMPTS: "5" }).appFabric.maxAttempts).toBe(5);
    expect(loadConfig({ AWS_MAX_ATTEMPTS: "5", APPFABRIC_MAX_ATTEMPTS: "2" }).appFabric.maxAttempts).toBe(2);
    expect(() => loadConfig({ AWS_MAX_ATTEMPTS: "0" })).toThrow(expect.objectContaining({ message: expect.stringContaining("AWS_MAX_ATTEMPTS") as unknown }));
    expect(loadConfig({ AWS_RETRY_MODE: "standard" }).appFabric.maxAttempts).toBe(3);
    for (const mode of ["adaptive", "legacy"]) {
      expect(() => loadConfig({ AWS_RETRY_MODE: mode })).toThrow(expect.objectContaining({ message: expect.stringContaining("AWS_RETRY_MODE") as unknown }));
    }
  });

  it("takes the region from the AWS profile in the shared config file when AWS_REGION and AWS_DEFAULT_REGION are unset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "aws-config-"));
    const configFile = join(dir, "config");
    writeFileSync(configFile, "[default]\nregion = ap-northeast-1\n\n[profile reviews]\nregion = eu-west-1\n\n[profile odd]\nregion = not a region\n");
    const files = { AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: join(dir, "none") };
    expect(await sharedConfigRegion(files)).toEqual({ region: "ap-northeast-1", profile: "default" });
    const reviews = await sharedConfigRegion({ ...files, AWS_PROFILE: "reviews" });
    expect(reviews).toEqual({ region: "eu-west-1", profile: "reviews" });
    expect(await sharedConfigRegion({ AWS_CONFIG_FILE: join(dir, "missing"), AWS_SHARED_CREDENTIALS_FILE: join(dir, "none") })).toBeUndefined();
    expect(loadConfig({}, { profileRegion: reviews }).region).toBe("eu-west-1");
    expect(loadConfig({ AWS_REGION: "us-east-1" }, { profileRegion: reviews }).region).toBe("us-east-1");
    const odd = await sharedConfigRegion({ ...files, AWS_PROFILE: "odd" });
    expect(() => loadConfig({}, { profileRegion: odd })).toThrow(expect.objectContaining({ message: expect.stringContaining("profile odd") as unknown }));
  });
});
