import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Config } from "../../src/config/loadConfig.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { Metrics } from "../../src/observability/Metrics.js";
import { createWatcher } from "../../src/createWatcher.js";
import { startServer } from "../../src/server/startServer.js";
import { localCallerRules } from "../../src/callers/CallerRules.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness, type Harness } from "../support/harness.js";
import { productionConfig, testConfig } from "../support/testConfig.js";

const ids = (count: number) => Array.from({ length: count }, (_, i) => syntheticTaskId(i));
const TASKS = `query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }`;

async function post(url: URL, body: string, headers: Record<string, string> = { "content-type": "application/json" }) {
  const response = await fetch(url, { method: "POST", headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as { errors?: Array<{ message: string; extensions?: { code?: string } }> },
  };
}

describe("a router's limits: requests that carry ROUTER_SECRET", () => {
  const SECRET = "router-secret-for-the-limits-tests";
  let harness: Harness;
  const base = testConfig().limits;
  const limits = {
    ...base,
    maxTaskIdsPerOperation: 120,
    maxRequestBytes: 16 * 1024,
    router: { maxTaskIdsPerOperation: 1_000, maxRequestBytes: 128 * 1024, maxAliases: 40 },
  };
  const asRouter = { "content-type": "application/json", "router-authorization": SECRET };
  const entities = (count: number, repeat = 1) =>
    JSON.stringify({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }`,
      variables: {
        r: Array.from({ length: repeat }, () => ids(count))
          .flat()
          .map((taskId) => ({ __typename: "UserAccessTask", taskId })),
      },
    });
  const aliases = (count: number) =>
    JSON.stringify({ query: `{ ${Array.from({ length: count }, (_, i) => `a${i}: userAccessTask(id: "${syntheticTaskId(i)}") { taskId }`).join(" ")} }` });
  beforeAll(async () => {
    harness = await startHarness({ config: { limits, auth: { routerSecret: SECRET } } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("lets a router's request through with more aliases, ids and bytes than a direct caller's, and AppFabric sees each id once", async () => {
    const body = entities(150, 6); // 900 references, ~61 KB: over 120 ids and 16 KB
    expect(Buffer.byteLength(body)).toBeGreaterThan(limits.maxRequestBytes);
    const response = await post(harness.service.url, body, asRouter);
    expect(response.status).toBe(200);
    expect(response.json().errors).toBeUndefined();
    expect(harness.emulator.calls.map((call) => call.taskIdList.length)).toEqual([50, 50, 50]);

    const merged = await post(harness.service.url, aliases(40), asRouter);
    expect(merged.json().errors).toBeUndefined();
  });

  it("holds the ids a client writes in userAccessTask(s) to MAX_TASK_IDS_PER_OPERATION even in a router's request", async () => {
    const tooMany = await post(harness.service.url, JSON.stringify({ query: TASKS, variables: { ids: ids(121) } }), asRouter);
    expect(tooMany.status).toBe(400);
    expect(tooMany.json().errors?.[0]?.message).toContain("lists 121 task ids (duplicates included); at most 120");
    // Split between a root field and entity references, each within its own bound, it passes.
    const mixed = await post(
      harness.service.url,
      JSON.stringify({
        query: `query($ids: [ID!]!, $r: [_Any!]!) { userAccessTasks(ids: $ids) { taskId } _entities(representations: $r) { ... on UserAccessTask { taskId } } }`,
        variables: { ids: ids(120), r: ids(150).map((taskId) => ({ __typename: "UserAccessTask", taskId })) },
      }),
      asRouter,
    );
    expect(mixed.json().errors).toBeUndefined();
    expect(harness.emulator.calls.map((call) => call.taskIdList.length)).toEqual([50, 50, 50]);
  });

  it("still serves /health, /ready and /metrics, which carry no caller constraint", async () => {
    for (const path of ["/health", "/ready", "/metrics"]) {
      expect((await fetch(new URL(path, harness.service.url))).status, path).toBe(200);
      expect((await fetch(new URL(path, harness.service.url), { headers: { "router-authorization": SECRET } })).status, path).toBe(200);
    }
  });

  it("holds a router's request to ROUTER_MAX_* limits, each refused before any call", async () => {
    const tooManyIds = await post(harness.service.url, entities(143, 7), asRouter); // 1,001 references
    expect(tooManyIds.json().errors?.[0]?.message).toContain("lists 1001 task ids (duplicates included); at most 1000");

    const tooManyAliases = await post(harness.service.url, aliases(41), asRouter);
    expect(tooManyAliases.json().errors?.[0]?.message).toMatch(/Aliases limit of 40 exceeded, found 41/);

    const tooLarge = await post(harness.service.url, JSON.stringify({ query: "{ __typename }", padding: "x".repeat(130 * 1024) }), asRouter);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.json().errors?.[0]?.message).toBe(`The request body is larger than the ${128 * 1024} bytes allowed.`);
    expect(harness.emulator.calls).toEqual([]);
  });

  it("gives a request without the secret, or with a wrong one of the same length, a direct caller's body limit (and then 401)", async () => {
    const wrong = { ...asRouter, "router-authorization": SECRET.replace(/.$/, "X") };
    for (const headers of [{ "content-type": "application/json" }, wrong]) {
      const large = await post(harness.service.url, entities(150, 6), headers);
      expect(large.status).toBe(413);
      expect(large.json().errors?.[0]?.message).toBe(`The request body is larger than the ${16 * 1024} bytes allowed.`);
      const small = await post(harness.service.url, aliases(2), headers);
      expect(small.status).toBe(401);
    }
    expect(harness.emulator.calls).toEqual([]);
  });
});

describe("without ROUTER_SECRET every request is a direct caller's", () => {
  it("holds a request that claims to come from a router to 20 aliases", async () => {
    const harness = await startHarness();
    try {
      const query = `{ ${Array.from({ length: 21 }, (_, i) => `a${i}: userAccessTask(id: "${syntheticTaskId(i)}") { taskId }`).join(" ")} }`;
      const response = await post(harness.service.url, JSON.stringify({ query }), {
        "content-type": "application/json",
        "router-authorization": "anything at all here",
      });
      expect(response.json().errors?.[0]?.message).toMatch(/Aliases limit of 20 exceeded, found 21/);
      expect(harness.emulator.calls).toEqual([]);
    } finally {
      await harness.close();
    }
  });
});

describe("limits on what one request may ask", () => {
  let harness: Harness;
  const limits = { ...testConfig().limits, maxTaskIdsPerOperation: 120, maxRequestBytes: 16 * 1024 };
  beforeAll(async () => {
    harness = await startHarness({ config: { limits } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("answers an operation over MAX_TASK_IDS_PER_OPERATION with BAD_USER_INPUT and calls nothing", async () => {
    const response = await harness.query(`query($a: [ID!]!, $b: [ID!]!) { a: userAccessTasks(ids: $a) { taskId } b: userAccessTasks(ids: $b) { taskId } }`, {
      a: ids(100),
      b: ids(121).slice(100),
    });

    expect(response.status).toBe(400);
    expect(response.data).toBeUndefined();
    expect(response.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(response.errors?.[0]?.message).toContain("lists 121 task ids (duplicates included); at most 120");
    expect(harness.emulator.calls).toEqual([]);
  });

  it("counts ids as listed: duplicates and other spellings each cost an answer, so each counts", async () => {
    const list = ids(61);
    const response = await harness.query(TASKS, { ids: [...list, ...list.map((id) => id.toUpperCase())] });
    expect(response.status).toBe(400);
    expect(response.errors?.[0]?.message).toContain("lists 122 task ids");
    expect(harness.emulator.calls).toEqual([]);
    expect((await harness.query(TASKS, { ids: [...list, ...list.slice(0, 59)] })).errors).toBeUndefined();
  });

  it("counts entity references too", async () => {
    const response = await harness.query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }`, {
      r: ids(121).map((taskId) => ({ __typename: "UserAccessTask", taskId })),
    });
    expect(response.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(harness.emulator.calls).toEqual([]);
  });

  it("refuses too many aliases and too many tokens before executing anything", async () => {
    const aliases = Array.from({ length: 30 }, (_, i) => `a${i}: userAccessTask(id: "${syntheticTaskId(i)}") { taskId }`).join(" ");
    const tooManyAliases = await harness.query(`{ ${aliases} }`);
    expect(tooManyAliases.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(tooManyAliases.errors?.[0]?.message).toMatch(/aliases/i);

    const fields = Array.from({ length: 2100 }, () => "app").join(" "); // 8 KB: under the body limit
    const tooManyTokens = await harness.query(`{ userAccessTask(id: "${syntheticTaskId(1)}") { ${fields} } }`);
    expect(tooManyTokens.status).toBe(400);
    expect(tooManyTokens.errors?.[0]?.extensions?.["code"]).toBe("GRAPHQL_PARSE_FAILED");
    expect(tooManyTokens.errors?.[0]?.message).toContain("more that 2000 tokens"); // graphql-js's wording
    expect(harness.emulator.calls).toEqual([]);
  });

  it("refuses a body over MAX_REQUEST_BYTES with 413 in GraphQL's error shape", async () => {
    const response = await post(harness.service.url, JSON.stringify({ query: TASKS, variables: { ids: ids(500) } }));
    expect(response.status).toBe(413);
    expect(response.json().errors?.[0]).toEqual({ message: "The request body is larger than the 16384 bytes allowed.", extensions: { code: "BAD_REQUEST" } });
  });

  it.each([
    {
      what: "malformed JSON",
      body: '{"query": "{ __typename }"',
      headers: { "content-type": "application/json" },
      status: 400,
      message: "The request body is not valid JSON.",
    },
    {
      what: "a form body",
      body: "query={__typename}",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      status: 415,
      message: "Send GraphQL requests with content-type: application/json.",
    },
  ])("answers $what with a clear $status", async ({ body, headers, status, message }) => {
    const response = await post(harness.service.url, body, headers);
    expect(response.status).toBe(status);
    expect(response.json().errors?.[0]).toEqual({ message, extensions: { code: "BAD_REQUEST" } });
  });

  it("keeps CSRF prevention: a simple text/plain request without a preflight header is refused", async () => {
    const response = await post(harness.service.url, JSON.stringify({ query: "{ __typename }" }), { "content-type": "text/plain" });
    expect(response.status).toBe(400);
    expect(response.text).toContain("Cross-Site Request Forgery");
  });

  it("refuses batched requests (an array of operations)", async () => {
    const response = await post(harness.service.url, JSON.stringify([{ query: "{ __typename }" }, { query: "{ __typename }" }]));
    expect(response.status).toBe(400);
  });
});

describe("production mode", () => {
  it("turns off Sandbox, introspection and field suggestions, and masks unexpected errors", async () => {
    const logs = collectLogs();
    const config: Config = productionConfig();
    const source = {
      loadUserAccessTasks: async () => {
        throw new TypeError("secret internals at /srv/app.js:42");
      },
    };
    const metrics = new Metrics();
    const rules = localCallerRules({ budgets: config.callers, observer: metrics });
    const server = await startServer({
      config: { ...config, port: 0, host: "127.0.0.1" },
      source,
      starter: { startUserAccessTasks: async () => [] },
      rules,
      logger: logs.logger,
      metrics,
      readiness: async () => ({ ready: true, checks: { credentials: "ok", endpoint: "ok" } }),
      watcher: createWatcher(config.subscriptions, source, { budgets: rules.budgets, metrics }),
    });
    try {
      const introspection = await post(server.url, JSON.stringify({ query: "{ __schema { queryType { name } } }" }));
      expect(introspection.json().errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");

      const suggestion = await post(server.url, JSON.stringify({ query: '{ userAccessTsk(id: "x") { taskId } }' }));
      expect(suggestion.text).not.toContain("Did you mean");

      const page = await fetch(server.url, { headers: { accept: "text/html" } });
      expect(await page.text()).not.toContain("embeddable-sandbox");

      const masked = await post(server.url, JSON.stringify({ query: `{ userAccessTask(id: "${syntheticTaskId(1)}") { taskId } }` }));
      expect(masked.json().errors?.[0]).toMatchObject({ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } });
      expect(masked.text).not.toContain("secret internals");
      expect(masked.text).not.toContain("stacktrace");
      expect(logs.text()).toContain("secret internals"); // …but the operator sees it
    } finally {
      await server.stop();
    }
  });
});

describe("incoming authentication", () => {
  const ROUTER_SECRET = "router-secret-0123456789";
  let privateKey: CryptoKey;
  let publicKeyPem: string;
  let jwks: Server;
  let jwksUrl: URL;

  beforeAll(async () => {
    const pair = await generateKeyPair("ES256");
    privateKey = pair.privateKey;
    publicKeyPem = await exportSPKI(pair.publicKey);
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" };
    jwks = createServer((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
    jwksUrl = new URL(`http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`);
  });
  afterAll(() => new Promise<void>((resolve) => jwks.close(() => resolve())));

  const token = (claims: { iss?: string; aud?: string; exp?: string } = {}, key: CryptoKey = privateKey) =>
    new SignJWT({ scope: "read", sub: "user-1" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(claims.iss ?? "https://login.example.com/")
      .setAudience(claims.aud ?? "user-access")
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? "5m")
      .sign(key);

  async function withAuth(auth: Config["auth"], run: (harness: Harness) => Promise<void>) {
    const harness = await startHarness({ config: { auth } });
    try {
      await run(harness);
    } finally {
      await harness.close();
    }
  }
  const ask = (harness: Harness, headers: Record<string, string>) =>
    post(harness.service.url, JSON.stringify({ query: TASKS, variables: { ids: ids(1) } }), { "content-type": "application/json", ...headers });

  it("requires the router's shared secret when ROUTER_SECRET is set", async () => {
    await withAuth({ routerSecret: ROUTER_SECRET }, async (harness) => {
      const refusedHeaders: Array<Record<string, string>> = [{}, { "router-authorization": "wrong-secret-0000000000" }];
      for (const headers of refusedHeaders) {
        const refused = await ask(harness, headers);
        expect(refused.status).toBe(401);
        expect(refused.json().errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      }
      expect(harness.emulator.calls).toEqual([]);
      expect((await ask(harness, { "router-authorization": ROUTER_SECRET })).status).toBe(200);
      expect(harness.emulator.calls).toHaveLength(1);
    });
  });

  it("verifies a bearer JWT against a public key, checking signature, issuer, audience and expiry", async () => {
    const jwt = { key: { publicKeyPem }, issuer: "https://login.example.com/", audience: "user-access", maxLifetimeSeconds: 86_400 };
    await withAuth({ jwt }, async (harness) => {
      const cases: Array<{ headers: Record<string, string>; reason: string }> = [
        { headers: {}, reason: "Send a JWT as Authorization: Bearer <token>." },
        { headers: { authorization: `Bearer ${await token({ aud: "someone-else" })}` }, reason: "its aud claim does not match" },
        { headers: { authorization: `Bearer ${await token({ iss: "https://evil.example.com/" })}` }, reason: "its iss claim does not match" },
        { headers: { authorization: `Bearer ${await token({ exp: "-1m" })}` }, reason: "it has expired" },
        { headers: { authorization: "Bearer not.a.jwt" }, reason: "it is not a well-formed JWT" },
      ];
      const forged = await new SignJWT({ sub: "user-1" })
        .setProtectedHeader({ alg: "ES256" })
        .setIssuer(jwt.issuer)
        .setAudience(jwt.audience)
        .setExpirationTime("5m")
        .sign((await generateKeyPair("ES256")).privateKey);
      cases.push({ headers: { authorization: `Bearer ${forged}` }, reason: "its signature does not verify" });
      for (const { headers, reason } of cases) {
        const refused = await ask(harness, headers);
        expect(refused.status).toBe(401);
        expect(refused.json().errors?.[0]?.message).toContain(reason);
        expect(refused.json().errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
      }
      expect(harness.emulator.calls).toEqual([]);
      const accepted = await ask(harness, { authorization: `Bearer ${await token()}` });
      expect(accepted.status).toBe(200);
      expect(accepted.json().errors).toBeUndefined();
    });
  });

  it("verifies a bearer JWT against a JWKS URL, with the router secret as well when both are set", async () => {
    const jwt = { key: { jwksUrl }, issuer: "https://login.example.com/", audience: "user-access", maxLifetimeSeconds: 86_400 };
    await withAuth({ jwt, routerSecret: ROUTER_SECRET }, async (harness) => {
      const bearer = `Bearer ${await token()}`;
      expect((await ask(harness, { authorization: bearer })).status).toBe(401);
      expect((await ask(harness, { "router-authorization": ROUTER_SECRET })).status).toBe(401);
      expect((await ask(harness, { authorization: bearer, "router-authorization": ROUTER_SECRET })).status).toBe(200);
    });
  });

  it("never writes the Authorization header or the token to the logs", async () => {
    const logs = collectLogs();
    const harness = await startHarness({
      logger: logs.logger,
      config: { auth: { jwt: { key: { publicKeyPem }, issuer: "https://login.example.com/", audience: "user-access", maxLifetimeSeconds: 86_400 } } },
    });
    try {
      const jwt = await token();
      await ask(harness, { authorization: `Bearer ${jwt}` });
      await ask(harness, { authorization: `Bearer ${jwt.slice(0, -4)}AAAA` });
      expect(logs.lines().some((line) => line["msg"] === "operation")).toBe(true);
      expect(logs.text()).not.toContain(jwt.split(".")[1]);
    } finally {
      await harness.close();
    }
  });
});

describe("CORS", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ config: { corsOrigins: ["https://app.example.com"] } });
  });
  afterAll(() => harness.close());

  it("allows only the configured origins", async () => {
    const allowed = await post(harness.service.url, JSON.stringify({ query: "{ __typename }" }), {
      "content-type": "application/json",
      origin: "https://app.example.com",
    });
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const other = await post(harness.service.url, JSON.stringify({ query: "{ __typename }" }), {
      "content-type": "application/json",
      origin: "https://evil.example.com",
    });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("answers a browser's preflight for an allowed origin", async () => {
    const preflight = await fetch(harness.service.url, {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
  });
});
