import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";

export interface ReadinessReport {
  ready: boolean;
  /** `redis` is reported, never decisive: a replica serves without Redis (it then works alone). */
  checks: { credentials: "ok" | "unavailable"; endpoint: "ok" | "unreachable"; redis?: "up" | "down" | "connecting" };
}

export interface ReadinessOptions {
  endpoint: URL;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  fetch?: typeof globalThis.fetch;
  /** How long a report is reused, so probes cannot hammer AppFabric. */
  cacheMs?: number;
  timeoutMs?: number;
  /** Redis's state, read at each probe (`off` without REDIS_URL: not reported). */
  redis?: () => "up" | "down" | "connecting" | "off";
}

const DEFAULT_CACHE_MS = 5_000;
const DEFAULT_TIMEOUT_MS = 2_000;

/**
 * `/ready`: the service can serve when its credentials resolve and the AppFabric endpoint answers
 * HTTP at all (any status: a 403 or 404 from AWS still proves the network path). The report is
 * cached for `cacheMs`, and concurrent probes share one check.
 */
export function createReadinessCheck(options: ReadinessOptions): () => Promise<ReadinessReport> {
  const fetch = options.fetch ?? globalThis.fetch;
  const cacheMs = options.cacheMs ?? DEFAULT_CACHE_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let cached: { at: number; report: Promise<ReadinessReport> } | undefined;

  async function credentialsResolve(): Promise<boolean> {
    try {
      const credentials = typeof options.credentials === "function" ? await options.credentials() : options.credentials;
      return Boolean(credentials.accessKeyId && credentials.secretAccessKey);
    } catch {
      return false;
    }
  }

  async function endpointAnswers(): Promise<boolean> {
    try {
      const response = await fetch(options.endpoint, { method: "GET", signal: AbortSignal.timeout(timeoutMs) });
      await response.arrayBuffer();
      return true;
    } catch {
      return false;
    }
  }

  async function check(): Promise<ReadinessReport> {
    const [credentials, endpoint] = await Promise.all([credentialsResolve(), endpointAnswers()]);
    return {
      ready: credentials && endpoint,
      checks: { credentials: credentials ? "ok" : "unavailable", endpoint: endpoint ? "ok" : "unreachable" },
    };
  }

  return async () => {
    const now = Date.now();
    if (cached === undefined || now - cached.at >= cacheMs) cached = { at: now, report: check() };
    const report = await cached.report;
    const redis = options.redis?.();
    return redis === undefined || redis === "off" ? report : { ...report, checks: { ...report.checks, redis } };
  };
}
