import type { Clock } from "../lib/Clock.js";
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";

/** What the key source reports: a failed fetch of the key set, with a fixed word for why. */
export interface JwksObserver {
  jwksFetchFailed(reason: string): void;
}

export interface JwksKeySourceOptions {
  /** How long one fetch of the key set may take. */
  timeoutMs?: number;
  /** After a failed fetch, how long no fetch is tried again (requests are answered at once meanwhile). */
  failureCooldownMs?: number;
  /** Told once per failed fetch (never per request): the operator's log line and metric. */
  observer?: JwksObserver;
  /** The clock; injected by tests. */
  now?: Clock;
}

/** The key set could not be fetched and none was fetched before: no token can be checked now. */
export class JwksUnavailableError extends Error {
  constructor() {
    super("The identity provider's key set cannot be fetched");
    this.name = "JwksUnavailableError";
  }
}

export const DEFAULT_JWKS_TIMEOUT_MS = 2_000;
export const DEFAULT_JWKS_FAILURE_COOLDOWN_MS = 10_000;

/**
 * Keys from a JWKS URL that an identity-provider outage cannot turn into load or latency. jose's
 * remote key set caches the set, shares one fetch between concurrent requests and re-fetches at most
 * every 30 s for an unknown `kid`; but a failed fetch is not remembered, so during an outage every
 * request would fetch again and wait for it. Here a failure is remembered for `failureCooldownMs`:
 * meanwhile no fetch is made, requests are checked against the last key set fetched (keys rarely
 * change) or, if there was none, refused at once. Each failed fetch is reported once.
 */
export function createJwksKeySource(url: URL, options: JwksKeySourceOptions = {}): JWTVerifyGetKey {
  const now = options.now ?? Date.now;
  const cooldownMs = options.failureCooldownMs ?? DEFAULT_JWKS_FAILURE_COOLDOWN_MS;
  const remote = createRemoteJWKSet(url, { timeoutDuration: options.timeoutMs ?? DEFAULT_JWKS_TIMEOUT_MS });
  let failedAt: number | undefined;
  let stale: { jwks: JSONWebKeySet; getKey: JWTVerifyGetKey } | undefined;

  /** The last key set fetched, as a local key set (made once per fetched set). */
  const lastKnown = (): JWTVerifyGetKey => {
    const jwks = remote.jwks();
    if (jwks === undefined) throw new JwksUnavailableError();
    if (stale?.jwks !== jwks) stale = { jwks, getKey: createLocalJWKSet(jwks) };
    return stale.getKey;
  };

  return async (protectedHeader, token) => {
    if (failedAt !== undefined && now() - failedAt < cooldownMs) return lastKnown()(protectedHeader, token);
    try {
      const key = await remote(protectedHeader, token);
      failedAt = undefined;
      return key;
    } catch (error) {
      if (!isFetchFailure(error)) throw error;
      // Concurrent requests share one failed fetch: report it once.
      if (failedAt === undefined || now() - failedAt >= cooldownMs) options.observer?.jwksFetchFailed(describeFetchFailure(error));
      failedAt = now();
      return lastKnown()(protectedHeader, token);
    }
  };
}

/** Whether jose failed to get the key set, rather than finding the token's key missing or bad. */
function isFetchFailure(error: unknown): boolean {
  if (error instanceof joseErrors.JWKSTimeout || error instanceof joseErrors.JWKSInvalid) return true;
  // jose's own "Expected 200 OK" and "Failed to parse" are plain JOSEErrors; fetch's are TypeErrors.
  if (error instanceof joseErrors.JOSEError) return error.constructor === joseErrors.JOSEError;
  return true;
}

/** Why a fetch failed, in words that carry nothing of the response or the URL's credentials. */
function describeFetchFailure(error: unknown): string {
  if (error instanceof joseErrors.JWKSTimeout) return "timeout";
  if (error instanceof joseErrors.JWKSInvalid) return "not a key set";
  if (error instanceof joseErrors.JOSEError) return error.message.startsWith("Expected 200") ? "HTTP status not 200" : "not JSON";
  return "connection failed";
}
