import { createPublicKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import { jwtCaller, ROUTER_CALLER, type Caller } from "../callers/Caller.js";
import type { RequiredScopes } from "../callers/access.js";
import { createJwksKeySource, JwksUnavailableError, type JwksKeySourceOptions } from "./createJwksKeySource.js";

/** Asymmetric algorithms only: a shared-secret HMAC would let anyone holding the key mint tokens. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/**
 * How far the identity provider's clock and ours may disagree: applied to `exp`, `nbf` and `iat`.
 * Small against token lifetimes (minutes to hours), large enough for ordinary clock drift.
 */
export const JWT_CLOCK_TOLERANCE_SECONDS = 30;

/**
 * What a request's headers prove. A refusal's `message` is safe to send back (it never quotes the
 * token); `reason` is a fixed word for logs and metrics; `status` is 401, or 503 when the identity
 * provider cannot be reached and nothing can be checked. An accepted JWT's expiry (`exp`, in ms) comes
 * back as `expiresAtMs`, for connections that outlive a request (subscriptions), and who it names as
 * `caller`: the JWT's subject when a JWT was checked, else the router.
 */
export type AuthResult = { ok: true; caller: Caller; expiresAtMs?: number } | { ok: false; status: 401 | 503; reason: AuthRefusal; message: string };

/** Which checks incoming requests must pass (read from ROUTER_SECRET and AUTH_JWT_*). */
export interface AuthSettings {
  /** When set, every GraphQL request must carry it in `router-authorization`. */
  routerSecret?: string;
  /** When set, every GraphQL request must carry a valid `Authorization: Bearer` JWT. */
  jwt?: JwtSettings;
  /** The scope each action needs (AUTH_SCOPE_READ, AUTH_SCOPE_START); only with `jwt`, whose token grants them. */
  scopes?: RequiredScopes;
}

/** How incoming JWTs are verified: against a JWKS URL or one public key, and always issuer and audience. */
export interface JwtSettings {
  key: { jwksUrl: URL } | { publicKeyPem: string };
  issuer: string;
  audience: string;
  /** The longest a token may still be valid (its `exp` from now); longer-lived tokens are refused. */
  maxLifetimeSeconds: number;
}

export type AuthRefusal = "router_secret" | "jwt_missing" | "jwt_invalid" | "jwks_unavailable";

export type Authenticator = (headers: Record<string, string | string[] | undefined>) => Promise<AuthResult>;

export type AuthenticatorOptions = Pick<JwksKeySourceOptions, "observer" | "now">;

/**
 * Incoming authentication, as Apollo's subgraph template does it: a secret shared with the router in
 * `router-authorization`, and/or a JWT in `Authorization: Bearer`, verified against a JWKS URL or a
 * public key, with issuer, audience and expiry required. Both configured: both required. Neither: open.
 */
export function createAuthenticator(auth: AuthSettings, options: AuthenticatorOptions = {}): Authenticator | undefined {
  const checks: Authenticator[] = [];
  if (auth.routerSecret !== undefined) checks.push(routerSecretCheck(auth.routerSecret));
  if (auth.jwt !== undefined) checks.push(jwtCheck(auth.jwt, options));
  if (checks.length === 0) return undefined;
  return async (headers) => {
    let accepted: AuthResult | undefined;
    // The JWT check runs last, so that its subject (a user behind the router) is the caller.
    for (const check of checks) {
      const result = await check(headers);
      if (!result.ok) return result;
      accepted = result;
    }
    return accepted ?? { ok: true, caller: ROUTER_CALLER };
  };
}

/** Whether a request's `router-authorization` header holds the router secret (compared in constant time). */
export function isRouterRequest(secret: string): (headers: Record<string, string | string[] | undefined>) => boolean {
  const expected = Buffer.from(secret);
  return (headers) => {
    const given = Buffer.from(single(headers["router-authorization"]) ?? "");
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}

function routerSecretCheck(secret: string): Authenticator {
  const isRouter = isRouterRequest(secret);
  return async (headers) =>
    isRouter(headers)
      ? { ok: true, caller: ROUTER_CALLER }
      : { ok: false, status: 401, reason: "router_secret", message: "The router-authorization header is missing or wrong." };
}

function jwtCheck(jwt: JwtSettings, options: AuthenticatorOptions): Authenticator {
  const key: JWTVerifyGetKey | KeyObject = "jwksUrl" in jwt.key ? createJwksKeySource(jwt.key.jwksUrl, options) : createPublicKey(jwt.key.publicKeyPem);
  const now = options.now ?? Date.now;
  const verifyOptions = {
    issuer: jwt.issuer,
    audience: jwt.audience,
    algorithms: ALGORITHMS,
    // `sub` names the caller: its scopes, budgets and audit lines hang on it.
    requiredClaims: ["exp", "sub"],
    clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
  };
  return async (headers) => {
    const token = /^Bearer ([\w-]+\.[\w-]+\.[\w-]+)$/i.exec(single(headers["authorization"]) ?? "")?.[1];
    if (token === undefined) return { ok: false, status: 401, reason: "jwt_missing", message: "Send a JWT as Authorization: Bearer <token>." };
    try {
      const currentDate = new Date(now());
      // jwtVerify's overloads differ by key type; both forms are valid keys here.
      const { payload } =
        typeof key === "function"
          ? await jwtVerify(token, key, { ...verifyOptions, currentDate })
          : await jwtVerify(token, key, { ...verifyOptions, currentDate });
      const nowSeconds = currentDate.getTime() / 1000;
      // jose checks `iat` only against a maximum age; a token issued in the future is as wrong as an expired one.
      if (typeof payload.iat === "number" && payload.iat > nowSeconds + JWT_CLOCK_TOLERANCE_SECONDS) return refused("its iat claim is in the future");
      // `exp: 1e400` parses as Infinity: a token that never expires, which jose accepts.
      if (!Number.isFinite(payload.exp) || (payload.exp ?? 0) > nowSeconds + jwt.maxLifetimeSeconds + JWT_CLOCK_TOLERANCE_SECONDS) {
        return refused(`its exp claim is more than ${jwt.maxLifetimeSeconds} s away (AUTH_JWT_MAX_LIFETIME_S)`);
      }
      // RFC 7519: a string. A number, list or object would name a caller that another spelling shares.
      if (typeof payload.sub !== "string" || payload.sub === "") return refused("its sub claim is not a non-empty string");
      return { ok: true, caller: jwtCaller(payload), expiresAtMs: (payload.exp ?? 0) * 1000 };
    } catch (error) {
      if (error instanceof JwksUnavailableError) {
        return {
          ok: false,
          status: 503,
          reason: "jwks_unavailable",
          message: "The identity provider's keys cannot be fetched now, so the bearer token cannot be checked. Try again shortly.",
        };
      }
      return refused(describe(error));
    }
  };
}

function refused(why: string): AuthResult {
  return { ok: false, status: 401, reason: "jwt_invalid", message: `The bearer token was refused: ${why}.` };
}

/** jose's error, in words that name the failed check and nothing of the token. */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "it has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    return error.reason === "missing" ? `it has no ${error.claim} claim` : `its ${error.claim} claim does not match`;
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "its algorithm is not allowed";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key of the key set matches it";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return "it is not a well-formed JWT";
  return "it could not be verified";
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
