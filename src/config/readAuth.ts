import { createPublicKey } from "node:crypto";
import type { RequiredScopes } from "../callers/access.js";
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
  const scopes = readScopes(env);
  if (jwksUrl === undefined && publicKeyPem === undefined) {
    const scopeVariable = (["AUTH_SCOPE_READ", "AUTH_SCOPE_START"] as const).find((variable) => setting(env, variable) !== undefined);
    // Scopes come from the JWT: without one, a scope check would refuse everything (or, worse, nothing).
    if (scopeVariable !== undefined)
      throw new ConfigError(scopeVariable, "unset unless JWT verification is on (AUTH_JWKS_URL or AUTH_JWT_PUBLIC_KEY)", setting(env, scopeVariable) ?? "");
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
  const maxLifetimeSeconds = readInteger(env, "AUTH_JWT_MAX_LIFETIME_S");
  return {
    ...(routerSecret === undefined ? {} : { routerSecret }),
    jwt: { key, issuer, audience, maxLifetimeSeconds },
    ...(Object.keys(scopes).length === 0 ? {} : { scopes }),
  };
}

/** AUTH_SCOPE_READ and AUTH_SCOPE_START: one scope name each, as a token's `scope` claim spells it. */
function readScopes(env: Env): RequiredScopes {
  const scopes: RequiredScopes = {};
  for (const [action, variable] of [
    ["read", "AUTH_SCOPE_READ"],
    ["start", "AUTH_SCOPE_START"],
  ] as const) {
    const raw = setting(env, variable);
    if (raw === undefined) continue;
    // RFC 6749's scope-token: printable ASCII without space, `"` or `\`.
    if (!/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/.test(raw))
      throw new ConfigError(variable, "one scope name: printable ASCII without spaces, quotes or backslashes, at most 128", raw);
    scopes[action] = raw;
  }
  return scopes;
}

function isPublicKey(pem: string): boolean {
  try {
    createPublicKey(pem);
    return true;
  } catch {
    return false;
  }
}
