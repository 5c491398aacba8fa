import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, FlattenedSign, generateKeyPair, type CryptoKey } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { AUDIENCE, ISSUER, postInit, signToken, startAttackHarness, trustedKey, type AttackHarness } from "./attackHarness.js";

const QUERY = { query: "{ __typename }" };
const now = () => Math.floor(Date.now() / 1000);

/** A token whose payload JSON carries `exp` written as given (e.g. 1e400, which no JWT library writes). */
async function withRawExp(raw: string): Promise<string> {
  const claims = `{"iss":${JSON.stringify(ISSUER)},"aud":${JSON.stringify(AUDIENCE)},"sub":"caller-1","iat":${now()},"exp":${raw}}`;
  const signed = await new FlattenedSign(new TextEncoder().encode(claims)).setProtectedHeader({ alg: "ES256" }).sign(await trustedKey());
  return `${signed.protected}.${signed.payload}.${signed.signature}`;
}

/** Class 2: `exp` required, `iat` not in the future, skew bounded (30 s). */
describe("JWT claims are checked as the README says", () => {
  let harness: AttackHarness;
  beforeAll(async () => {
    harness = await startAttackHarness({ auth: undefined });
  });
  afterAll(() => harness.close());

  const ask = async (token: string) => {
    const response = await harness.send("/", postInit(QUERY, { "router-authorization": "attack-router-secret-0123456789", authorization: `Bearer ${token}` }));
    return { status: response.status, message: (JSON.parse(response.text) as { errors?: Array<{ message: string }> }).errors?.[0]?.message };
  };

  it.each([
    { what: "no exp", token: () => signToken({}, { omitExp: true }), message: "it has no exp claim" },
    { what: "exp just past the 30 s skew", token: () => signToken({ exp: now() - 31 }), message: "it has expired" },
    { what: "iat an hour in the future", token: () => signToken({}, { iat: now() + 3600 }), message: "its iat claim is in the future" },
    { what: "iat past the skew", token: () => signToken({}, { iat: now() + 45 }), message: "its iat claim is in the future" },
    { what: "exp of 1e400 (Infinity: never expires)", token: async () => withRawExp("1e400"), message: "its exp claim is more than 86400 s away" },
    {
      what: "exp two days away, past AUTH_JWT_MAX_LIFETIME_S",
      token: () => signToken({ exp: now() + 2 * 86_400 }),
      message: "its exp claim is more than 86400 s away",
    },
    { what: "nbf in the future", token: () => signToken({ nbf: now() + 3600 }), message: "its nbf claim" },
    { what: "another audience", token: () => signToken({ aud: "someone-else" }), message: "its aud claim does not match" },
    { what: "no issuer", token: () => signToken({ iss: undefined }), message: "it has no iss claim" },
    {
      what: "alg none",
      token: async () =>
        `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ iss: ISSUER, aud: AUDIENCE, exp: now() + 60 })).toString("base64url")}.`,
      message: "Send a JWT",
    },
    {
      what: "a forged signature",
      token: async () => signToken({}, { key: (await generateKeyPair("ES256")).privateKey }),
      message: "its signature does not verify",
    },
  ])("refuses a token with $what", async ({ token, message }) => {
    const answer = await ask(await token());
    expect(answer.status).toBe(401);
    expect(answer.message).toContain(message);
  });

  it("accepts clock drift within 30 s either way", async () => {
    expect((await ask(await signToken({ exp: now() - 20 }))).status).toBe(200);
    expect((await ask(await signToken({}, { iat: now() + 20 }))).status).toBe(200);
  });
});

/**
 * An identity provider that fails or hangs: failures are remembered for 10 s, so there is at most one
 * fetch per cooldown whatever the request count, each failure is logged once at warn and counted, and
 * the last key set fetched keeps working.
 */
describe("a JWKS outage costs one fetch, not one per request", () => {
  let jwks: Server;
  let mode: "ok" | "fail" | "hang" = "ok";
  let fetches = 0;
  const held: Array<() => void> = [];
  let jwksBody = "";
  let harness: AttackHarness;
  let clock = Date.now();
  let signingKey: CryptoKey;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    signingKey = pair.privateKey;
    jwksBody = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" }] });
    jwks = createServer((_request, response) => {
      fetches += 1;
      if (mode === "ok") response.writeHead(200, { "content-type": "application/json" }).end(jwksBody);
      else if (mode === "fail") response.writeHead(500).end("down");
      else held.push(() => response.destroy());
    });
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    const url = new URL(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`);
    harness = await startAttackHarness({
      auth: { jwt: { key: { jwksUrl: url }, issuer: ISSUER, audience: AUDIENCE, maxLifetimeSeconds: 86_400 } },
      now: () => clock,
    });
  });
  afterEach(() => {
    vi.useRealTimers();
    for (const release of held.splice(0)) release();
  });
  afterAll(async () => {
    await harness.close();
    jwks.closeAllConnections();
    await new Promise((resolve) => jwks.close(resolve));
  });

  const ask = (token: string) => harness.send("/", postInit(QUERY, { authorization: `Bearer ${token}` }));
  const token = () => signToken({}, { key: signingKey, kid: "k1" });
  const failures = async () =>
    Number(/auth_jwks_fetch_failures_total\{reason="[^"]+"\} (\d+)/.exec(await (await fetch(new URL("/metrics", harness.service.url))).text())?.[1] ?? 0);
  const warnings = () => harness.logs.lines().filter((line) => line["level"] === 40 && String(line["msg"]).includes("JWKS"));

  it("answers 503 AUTHENTICATION_UNAVAILABLE when no key set was ever fetched, fetching once for many requests", async () => {
    mode = "fail";
    fetches = 0;
    const answers = await Promise.all(Array.from({ length: 20 }, async () => ask(await token())));
    const junk = await Promise.all(Array.from({ length: 20 }, () => ask("a.b.c")));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(503));
    expect(JSON.parse(answers[0]?.text ?? "{}")).toMatchObject({ errors: [{ extensions: { code: "AUTHENTICATION_UNAVAILABLE", retryable: true } }] });
    expect(junk.map((answer) => answer.status)).toEqual(Array(20).fill(401));
    expect(fetches).toBe(1);
    expect(warnings()).toHaveLength(1);
    expect(await failures()).toBe(1);

    clock += 11_000; // past the cooldown: one more fetch, and it works
    mode = "ok";
    expect((await ask(await token())).status).toBe(200);
    expect(fetches).toBe(2);
  });

  it("keeps the last key set through an outage, and a hanging provider holds one fetch, not every request", async () => {
    mode = "hang";
    fetches = 0;
    // jose re-fetches a key set older than 10 minutes: make the one it has stale.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 11 * 60_000 });
    clock = Date.now();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => token()));
    const answers = await Promise.all(tokens.map((t) => ask(t)));
    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect(fetches).toBe(1);
    const later = await Promise.all(tokens.map((t) => ask(t)));
    expect(later.map((answer) => answer.status)).toEqual(Array(10).fill(200));
    expect(fetches).toBe(1);
  });
});
