import { randomUUID } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness } from "../support/harness.js";
import { productionConfig, testConfig } from "../support/testConfig.js";
import { postInit, ROUTER_SECRET, startAttackHarness, type AttackHarness } from "./attackHarness.js";

/**
 * Class 9: every refused request is logged once (reason, request id, no secrets) and counted by
 * reason; production without authentication warns at start; codes and `retryable` are the README's.
 */
describe("refusals are visible", () => {
  let harness: AttackHarness;
  let headers: Record<string, string>;
  beforeAll(async () => {
    const limits = productionConfig().limits;
    // The harness sends the router secret: its requests are held to the router's body limit.
    harness = await startAttackHarness({ config: { limits: { ...limits, maxRequestBytes: 4096, router: { ...limits.router, maxRequestBytes: 4096 } } } });
    headers = await harness.credentials();
  });
  afterAll(() => harness.close());

  const refusals: Array<{ reason: string; status: number; path?: string; init: () => RequestInit }> = [
    { reason: "unauthenticated", status: 401, init: () => postInit({ query: "{ __typename }" }) },
    { reason: "invalid_json", status: 400, init: () => postInit('{"query": ', headers) },
    { reason: "body_too_large", status: 413, init: () => postInit({ query: "{ __typename }", pad: "x".repeat(5_000) }, headers) },
    {
      reason: "unsupported_media_type",
      status: 415,
      init: () => ({ method: "POST", headers: { ...headers, "content-type": "application/xml" }, body: "<q/>" }),
    },
    {
      // A compressed body is refused for what it is, not as "not valid JSON".
      reason: "unsupported_media_type",
      status: 415,
      init: () => ({ method: "POST", headers: { ...headers, "content-encoding": "gzip" }, body: gzipSync(JSON.stringify({ query: "{ __typename }" })) }),
    },
    {
      reason: "csrf",
      status: 400,
      init: () => ({ method: "POST", headers: { ...headers, "content-type": "text/plain" }, body: '{"query":"{ __typename }"}' }),
    },
    { reason: "not_found", status: 404, path: "/nowhere", init: () => ({ headers }) },
    // Refused by Fastify before routing; answered here, without repeating the path.
    { reason: "bad_request", status: 400, path: "/%ZZcasey.morgan@example.com", init: () => ({ headers }) },
    { reason: "not_acceptable", status: 406, init: () => postInit({ query: "{ __typename }" }, { ...headers, accept: "image/png" }) },
    {
      reason: "method_not_allowed",
      status: 405,
      path: `/?query=${encodeURIComponent('mutation { startUserAccessTasks(email: "a@b.co") { app } }')}`,
      init: () => ({ headers: { ...headers, "apollo-require-preflight": "true" } }),
    },
    { reason: "parse_failed", status: 400, init: () => postInit({ query: "{" }, headers) },
    { reason: "validation_failed", status: 400, init: () => postInit({ query: "{ nope }" }, headers) },
    {
      reason: "bad_user_input",
      status: 400,
      init: () => postInit({ query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: Array(501).fill("x") } }, headers),
    },
  ];

  it.each(refusals)("logs a $reason refusal ($status) exactly once at info, with its request id, and counts it", async ({ reason, status, path, init }) => {
    const requestId = `refusal-${reason}-${randomUUID()}`;
    const before = await counted(reason);
    const base = init();
    const response = await harness.send(path ?? "/", { ...base, headers: { ...(base.headers as Record<string, string>), "x-request-id": requestId } });
    expect(response.status).toBe(status);
    const lines = harness.logs.lines().filter((line) => line["requestId"] === requestId && Number(line["level"]) >= 30);
    expect(lines).toHaveLength(1);
    expect(lines[0]?.["level"]).toBe(30);
    expect(lines[0]?.["reason"]).toBe(reason);
    expect(await counted(reason)).toBe(before + 1);
    expect(harness.logs.text()).not.toContain(ROUTER_SECRET);
    expect(harness.logs.text()).not.toContain(headers["authorization"]?.slice(7) ?? "?");
  });

  it("does not repeat a path it cannot decode (it may hold an address)", async () => {
    for (const path of ["/%ZZcasey.morgan@example.com", "/graphiql/%", "/%c0%ae%c0%ae/casey.morgan@example.com%"]) {
      const response = await harness.send(path, { headers });
      expect(response.status).toBe(400);
      expect(response.text).not.toContain("casey");
      expect(response.text).not.toContain("FST_");
      expect(response.headers.get("x-request-id")).toMatch(/^[\w-]+$/);
    }
    expect(harness.logs.text()).not.toContain("casey");
  });

  it("answers headers too large with 431, logged and counted", async () => {
    const response = await harness.send("/", postInit({ query: "{ __typename }" }, { ...headers, "x-padding": "x".repeat(20_000) }));
    expect(response.status).toBe(431);
    expect(await counted("headers_too_large")).toBeGreaterThan(0);
    expect(harness.logs.lines()).toContainEqual(expect.objectContaining({ level: 30, msg: "request refused", status: 431, reason: "headers_too_large" }));
  });

  it("logs no refusal at error", () => {
    expect(harness.errorLines()).toEqual([]);
  });

  async function counted(reason: string): Promise<number> {
    const text = (await harness.send("/metrics")).text;
    return Number(new RegExp(`http_requests_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  }
});

describe("codes match the README's table", () => {
  it("answers a passed operation deadline with UPSTREAM_UNAVAILABLE, retryable: false", async () => {
    const harness = await startHarness({ emulator: { latencyMs: 500 }, config: { limits: { ...testConfig().limits, operationTimeoutMs: 100 } } });
    try {
      const response = await harness.query(`{ userAccessTask(id: "${syntheticTaskId(1)}") { taskId } }`);
      expect(response.errors?.[0]?.extensions).toMatchObject({ code: "UPSTREAM_UNAVAILABLE", retryable: false });
    } finally {
      await harness.close();
    }
  });

  it("warns at start when production runs without any authentication", async () => {
    const logs = collectLogs();
    const harness = await startHarness({ logger: logs.logger, config: productionConfig() });
    await harness.close();
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 40, msg: expect.stringContaining("Production without authentication") }));
  });
});
