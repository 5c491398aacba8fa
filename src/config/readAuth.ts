import { createPublicKey } from "node:crypto";
import type { AuthSettings, JwtSettings } from "../server/createAuthenticator.js";
import { ConfigError } from "./ConfigError.js";
import { parseHttpUrl, readInteger, setting, shownUrl, type Env } from "./env.js";

/** ROUTER_SECRET and the AUTH_JWT_* settings: which checks incoming requests must pass. */
export function readAuth(env: Env): AuthSettings {
  const routerSecret = setting(env, "ROUTER_SECRET");
  if (routerSecret !== undefined && routerSecret.length < 16) {
    throw new ConfigError("ROUTER_SECRET", "at least 16 characters", `${routerSecret.length} characters`);
  }
  // What a router can send in a header and this service compares byte for byte: printable ASCII.
  // (A zero-width or non-ASCII secret would start, then refuse every request.)
  if (routerSecret !== undefined && !/^[\x20-\x7E]+$/.test(routerSecret)) {
    throw new ConfigError("ROUTER_SECRET", "printable ASCII characters (letters, digits, punctuation)", "[not shown]");
  }
  const jwksUrl = setting(env, "AUTH_JWKS_URL");
  const publicKeyPem = setting(env, "AUTH_JWT_PUBLIC_KEY");
  const issuer = setting(env, "AUTH_JWT_ISSUER");
  const audience = setting(env, "AUTH_JWT_AUDIENCE");
  if (jwksUrl === undefined && publicKeyPem === undefined) {
    if (issuer !== undefined || audience !== undefined) {
      throw new ConfigError("AUTH_JWKS_URL", "set (or AUTH_JWT_PUBLIC_KEY) when AUTH_JWT_ISSUER or AUTH_JWT_AUDIENCE is", "");
    }
    return routerSecret === undefined ? {} : { routerSecret };
  }
  if (jwksUrl !== undefined && publicKeyPem !== undefined) {
    throw new ConfigError("AUTH_JWT_PUBLIC_KEY", "unset when AUTH_JWKS_URL is set (choose one key source)", "[a PEM key]");
  }
  if (issuer === undefined) throw new ConfigError("AUTH_JWT_ISSUER", "set when JWT verification is on", "");
  if (audience === undefined) throw new ConfigError("AUTH_JWT_AUDIENCE", "set when JWT verification is on", "");
  let key: JwtSettings["key"];
  if (jwksUrl !== undefined) {
    const url = parseHttpUrl(jwksUrl);
    if (url === undefined) {
      throw new ConfigError("AUTH_JWKS_URL", "an http(s) URL of a JSON Web Key Set", shownUrl(jwksUrl));
    }
    key = { jwksUrl: url };
  } else {
    const pem = (publicKeyPem ?? "").replaceAll("\\n", "\n");
    if (!pem.includes("-----BEGIN PUBLIC KEY-----") || !isPublicKey(pem)) {
      throw new ConfigError("AUTH_JWT_PUBLIC_KEY", "a PEM public key (-----BEGIN PUBLIC KEY-----…)", "[not a usable PEM public key]");
    }
    key = { publicKeyPem: pem };
  }
  const maxLifetimeSeconds = readInteger(env, "AUTH_JWT_MAX_LIFETIME_S", 86_400, 60, 31_536_000);
  return { ...(routerSecret === undefined ? {} : { routerSecret }), jwt: { key, issuer, audience, maxLifetimeSeconds } };
}

function isPublicKey(pem: string): boolean {
  try {
    createPublicKey(pem);
    return true;
  } catch {
    return false;
  }
}
