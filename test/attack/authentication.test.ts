import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startAttackHarness, PERSONAL, PERSONAL_TASK_ID, postInit, ROUTER_SECRET, type AttackHarness } from "./attackHarness.js";
import { createHash } from "node:crypto";
import { startHarness } from "../support/harness.js";
import { testConfig } from "../support/testConfig.js";

const QUERY = `{ userAccessTask(id: "${PERSONAL_TASK_ID}") { email userFullName } }`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const apq = (query: string) => JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(query) } });

/**
 * Class 1: every request that executes GraphQL is authenticated, whatever its method, encoding,
 * headers or persisted-query form. Each attempt below carries no (or wrong) credentials; none may
 * answer data or reach AppFabric.
 */
describe("authentication cannot be skipped by the shape of a request", () => {
  let harness: AttackHarness;
  beforeAll(async () => {
    harness = await startAttackHarness();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const q = encodeURIComponent(QUERY);
  const attempts: Array<{ what: string; path: string; init: RequestInit }> = [
    {
      what: "GET with an encoded parameter name (%71uery) and HTML first in Accept",
      path: `/?%71uery=${q}`,
      init: { headers: { accept: "text/html, application/json", "apollo-require-preflight": "true" } },
    },
    {
      what: "GET with the name fully percent-encoded",
      path: `/?%71%75%65%72%79=${q}`,
      init: { headers: { accept: "text/html;q=0.9, application/json;q=0.8", "apollo-require-preflight": "true" } },
    },
    { what: "GET with Accept text/html only", path: `/?query=${q}`, init: { headers: { accept: "text/html", "apollo-require-preflight": "true" } } },
    { what: "GET with an upper-case Accept", path: `/?query=${q}`, init: { headers: { accept: "TEXT/HTML", "apollo-require-preflight": "true" } } },
    { what: "plain GET", path: `/?query=${q}`, init: { headers: { "apollo-require-preflight": "true" } } },
    { what: "GET with a duplicated query parameter", path: `/?query=%7B__typename%7D&query=${q}`, init: { headers: { "apollo-require-preflight": "true" } } },
    { what: "POST", path: "/", init: postInit({ query: QUERY }) },
    { what: "POST with an Accept of HTML", path: "/", init: postInit({ query: QUERY }, { accept: "text/html" }) },
    {
      what: "POST with charset and odd case in the content type",
      path: "/",
      init: postInit({ query: QUERY }, { "content-type": "Application/JSON; charset=utf-8" }),
    },
    { what: "POST of a batch", path: "/", init: postInit([{ query: QUERY }]) },
    {
      what: "POST with a wrong router secret and a junk token",
      path: "/",
      init: postInit({ query: QUERY }, { "router-authorization": "x".repeat(ROUTER_SECRET.length), authorization: "Bearer a.b.c" }),
    },
    { what: "POST with the router secret but no JWT", path: "/", init: postInit({ query: QUERY }, { "router-authorization": ROUTER_SECRET }) },
    { what: "POST with the secret padded", path: "/", init: postInit({ query: QUERY }, { "router-authorization": ` ${ROUTER_SECRET} ` }) },
    { what: "HEAD", path: `/?query=${q}`, init: { method: "HEAD", headers: { "apollo-require-preflight": "true" } } },
  ];

  it.each(attempts)("refuses $what with 401 and calls nothing", async ({ path, init }) => {
    const response = await harness.send(path, init);
    expect(response.text).not.toMatch(PERSONAL);
    expect(harness.emulator.calls).toEqual([]);
    expect(response.status).toBe(401);
    if (init.method !== "HEAD") expect(JSON.parse(response.text)).toMatchObject({ errors: [{ extensions: { code: "UNAUTHENTICATED" } }] });
  });

  it("refuses a persisted query sent by its hash alone, after someone with credentials registered it", async () => {
    const headers = await harness.credentials();
    const registered = await harness.send("/", postInit({ query: QUERY, extensions: JSON.parse(apq(QUERY)) as unknown }, headers));
    expect(registered.status).toBe(200);
    harness.emulator.reset();

    for (const accept of ["application/json", "text/html, application/json", "text/html"]) {
      const byHash = await harness.send(`/?extensions=${encodeURIComponent(apq(QUERY))}`, { headers: { accept, "apollo-require-preflight": "true" } });
      expect(byHash.status).toBe(401);
      expect(byHash.text).not.toMatch(PERSONAL);
      const posted = await harness.send("/", postInit({ extensions: JSON.parse(apq(QUERY)) as unknown }, { accept }));
      expect(posted.status).toBe(401);
    }
    expect(harness.emulator.calls).toEqual([]);
  });

  it("runs nothing for an Accept it cannot answer, even with credentials (406 before execution)", async () => {
    const headers = await harness.credentials();
    const response = await harness.send(`/?query=${q}`, { headers: { ...headers, accept: "text/html", "apollo-require-preflight": "true" } });
    expect(response.status).toBe(406);
    expect(response.text).not.toMatch(PERSONAL);
    expect(harness.emulator.calls).toEqual([]);
  });

  it("serves data to a caller with both credentials, by GET and by POST", async () => {
    const headers = await harness.credentials();
    const posted = await harness.send("/", postInit({ query: QUERY }, headers));
    expect(JSON.parse(posted.text)).toEqual({ data: { userAccessTask: { email: "jordan.rivers@example.com", userFullName: "Jordan Rivers" } } });
    const got = await harness.send(`/?query=${q}`, { headers: { ...headers, "apollo-require-preflight": "true" } });
    expect(got.status).toBe(200);
    expect(harness.emulator.calls).toHaveLength(2);
  });

  it("logs each refusal once, at info, with its request id and reason, and never the credentials", async () => {
    const before = harness.logs.lines().length;
    await harness.send("/", postInit({ query: QUERY }, { "x-request-id": "attack-1", authorization: "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln" }));
    const lines = harness.logs
      .lines()
      .slice(before)
      .filter((line) => line["requestId"] === "attack-1" && Number(line["level"]) >= 30);
    expect(lines).toEqual([expect.objectContaining({ level: 30, msg: "request refused", status: 401, reason: "unauthenticated" })]);
    expect(harness.logs.text()).not.toContain("c2ln");
    expect(harness.logs.text()).not.toContain(ROUTER_SECRET);
  });
});

describe("Sandbox's page is the only thing served without credentials", () => {
  it("serves the landing page to a browser GET when it is enabled, and runs no query given with it", async () => {
    const harness = await startHarness({ config: { ...testConfig(), auth: { routerSecret: ROUTER_SECRET } } });
    try {
      const page = await fetch(new URL(`/?query=${encodeURIComponent(QUERY)}`, harness.service.url), { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      expect(await page.text()).not.toMatch(PERSONAL);
      expect(harness.emulator.calls).toEqual([]);
      const query = await fetch(new URL(`/?query=${encodeURIComponent(QUERY)}`, harness.service.url), { headers: { "apollo-require-preflight": "true" } });
      expect(query.status).toBe(401);
    } finally {
      await harness.close();
    }
  });
});
