import { exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import type { Config } from "../../src/config/loadConfig.js";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { syntheticTasks } from "../fixtures/syntheticTasks.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness, type Harness, type HarnessOptions } from "../support/harness.js";
import { productionConfig } from "../support/testConfig.js";

export const ROUTER_SECRET = "attack-router-secret-0123456789";
export const ISSUER = "https://login.example.com/";
export const AUDIENCE = "user-access";

/** A raw HTTP answer, as an attacker reads it. */
export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
}

export interface AttackHarness extends Harness {
  logs: ReturnType<typeof collectLogs>;
  /** Headers that pass both checks: the router secret and a fresh JWT. */
  credentials(): Promise<Record<string, string>>;
  /** A JWT signed by the trusted key, with these claims over the defaults (iss, aud, exp in 5 min). */
  token(claims?: JWTPayload, options?: { omitExp?: boolean }): Promise<string>;
  /** Any request to any path, exactly as given. */
  send(path: string, init?: RequestInit): Promise<RawResponse>;
  /** Log lines at `error` or above. */
  errorLines(): Array<Record<string, unknown>>;
}

let keys: Promise<{ privateKey: CryptoKey; pem: string }> | undefined;
function signingKeys() {
  keys ??= generateKeyPair("ES256").then(async ({ privateKey, publicKey }) => ({ privateKey, pem: await exportSPKI(publicKey) }));
  return keys;
}

/** The private key the service trusts (its public half is AUTH_JWT_PUBLIC_KEY). */
export async function trustedKey(): Promise<CryptoKey> {
  return (await signingKeys()).privateKey;
}

/** The public half of the trusted key, as AUTH_JWT_PUBLIC_KEY takes it. */
export async function trustedPublicKeyPem(): Promise<string> {
  return (await signingKeys()).pem;
}

/** Signs a JWT with the trusted key (or another key, to forge one). */
export async function signToken(claims: JWTPayload, options: { omitExp?: boolean; key?: CryptoKey; iat?: number; kid?: string } = {}): Promise<string> {
  const key = options.key ?? (await signingKeys()).privateKey;
  const jwt = new SignJWT({ iss: ISSUER, aud: AUDIENCE, sub: "caller-1", iat: options.iat ?? Math.floor(Date.now() / 1000), ...claims }).setProtectedHeader({
    alg: "ES256",
    ...(options.kid === undefined ? {} : { kid: options.kid }),
  });
  if (!options.omitExp && claims.exp === undefined) jwt.setExpirationTime("5m");
  return jwt.sign(key);
}

/**
 * The service as production runs it (`NODE_ENV=production`: no Sandbox, no introspection, masked
 * errors), with the router secret and JWT checks both on, in front of a recording emulator, its logs
 * collected at `debug`.
 */
export async function startAttackHarness(
  options: HarnessOptions & { auth?: Config["auth"]; scopes?: NonNullable<Config["auth"]["scopes"]> } = {},
): Promise<AttackHarness> {
  const logs = collectLogs("debug");
  const { pem } = await signingKeys();
  const base = productionConfig();
  const auth = options.auth ?? {
    routerSecret: ROUTER_SECRET,
    jwt: { key: { publicKeyPem: pem }, issuer: ISSUER, audience: AUDIENCE, maxLifetimeSeconds: 86_400 },
    ...(options.scopes === undefined ? {} : { scopes: options.scopes }),
  };
  const harness = await startHarness({
    ...options,
    emulator: { tasks: [...DEMO_TASKS, ...syntheticTasks(150)], ...options.emulator },
    logger: logs.logger,
    config: { ...base, auth, ...options.config },
  });
  const token = (claims: JWTPayload = {}, tokenOptions: { omitExp?: boolean } = {}) => signToken(claims, tokenOptions);
  return {
    ...harness,
    logs,
    token,
    credentials: async () => ({ "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await token()}` }),
    send: async (path, init) => {
      const response = await fetch(new URL(path, harness.service.url), init);
      return { status: response.status, headers: response.headers, text: await response.text() };
    },
    errorLines: () => logs.lines().filter((line) => Number(line["level"]) >= 50),
  };
}

/** A JSON POST of one operation with these extra headers. */
export function postInit(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json", ...headers }, body: typeof body === "string" ? body : JSON.stringify(body) };
}

/** Personal data of the emulator's demo tasks, to look for in answers and logs. */
export const PERSONAL = /jordan|rivers|@example\.com/i;

/** A demo task whose answer carries an email and names. */
export const PERSONAL_TASK_ID = DEMO_TASKS[0]?.taskId ?? "";
