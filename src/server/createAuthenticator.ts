import { createPublicKey, timingSafeEqual, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTVerifyGetKey } from "jose";
import type { Config } from "../config.js";

/** Asymmetric algorithms only: a shared-secret HMAC would let anyone holding the key mint tokens. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];

/** What a request's headers prove; the reason is safe to send back (it never quotes the token). */
export type AuthResult = { ok: true } | { ok: false; reason: string };

export type Authenticator = (headers: Record<string, string | string[] | undefined>) => Promise<AuthResult>;

/**
 * Incoming authentication, as Apollo's subgraph template does it: a secret shared with the router in
 * `router-authorization`, and/or a JWT in `Authorization: Bearer`, verified against a JWKS URL or a
 * public key, with issuer and audience checked. Both configured: both required. Neither: open.
 */
export function createAuthenticator(auth: Config["auth"]): Authenticator | undefined {
  const checks: Authenticator[] = [];
  if (auth.routerSecret !== undefined) checks.push(routerSecretCheck(auth.routerSecret));
  if (auth.jwt !== undefined) checks.push(jwtCheck(auth.jwt));
  if (checks.length === 0) return undefined;
  return async (headers) => {
    for (const check of checks) {
      const result = await check(headers);
      if (!result.ok) return result;
    }
    return { ok: true };
  };
}

function routerSecretCheck(secret: string): Authenticator {
  const expected = Buffer.from(secret);
  return async (headers) => {
    const given = Buffer.from(single(headers["router-authorization"]) ?? "");
    const ok = given.length === expected.length && timingSafeEqual(given, expected);
    return ok ? { ok: true } : { ok: false, reason: "The router-authorization header is missing or wrong." };
  };
}

function jwtCheck(jwt: NonNullable<Config["auth"]["jwt"]>): Authenticator {
  const key: JWTVerifyGetKey | KeyObject = "jwksUrl" in jwt.key ? createRemoteJWKSet(jwt.key.jwksUrl) : createPublicKey(jwt.key.publicKeyPem);
  return async (headers) => {
    const token = /^Bearer (\S+)$/i.exec(single(headers["authorization"]) ?? "")?.[1];
    if (token === undefined) return { ok: false, reason: "Send a JWT as Authorization: Bearer <token>." };
    try {
      // jwtVerify's overloads differ by key type; both forms are valid keys here.
      if (typeof key === "function") await jwtVerify(token, key, { issuer: jwt.issuer, audience: jwt.audience, algorithms: ALGORITHMS });
      else await jwtVerify(token, key, { issuer: jwt.issuer, audience: jwt.audience, algorithms: ALGORITHMS });
      return { ok: true };
    } catch (error) {
      return { ok: false, reason: `The bearer token was refused: ${describe(error)}.` };
    }
  };
}

/** jose's error, in words that name the failed check and nothing of the token. */
function describe(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "it has expired";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `its ${error.claim} claim does not match`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "its algorithm is not allowed";
  if (error instanceof joseErrors.JWKSNoMatchingKey) return "no key of the key set matches it";
  if (error instanceof joseErrors.JWSInvalid || error instanceof joseErrors.JWTInvalid) return "it is not a well-formed JWT";
  return "it could not be verified";
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
