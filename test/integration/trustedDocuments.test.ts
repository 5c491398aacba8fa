import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { collectLogs } from "../support/collectLogs.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { startHarness, type GraphQLResponse, type Harness } from "../support/harness.js";
import { disposeAll, metric, watch, WATCH, withHandshakeHeaders, wsClient, type TestClient } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";
import { settingWarnings } from "../../src/config/settingWarnings.js";
import { AUDIENCE, ISSUER, signToken, trustedPublicKeyPem } from "../attack/attackHarness.js";

const LISTED = "query Listed($id: ID!) { userAccessTask(id: $id) { taskId resultStatus } }";
const UNLISTED = "query Unlisted($id: ID!) { userAccessTask(id: $id) { taskId app } }";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const SECRET = "router-secret-for-trusted-documents";
const ID = syntheticTaskId(1);

/** A manifest in Apollo's format, as @apollo/generate-persisted-query-manifest writes it, in a fresh directory. */
function apolloManifest(): string {
  const path = join(mkdtempSync(join(tmpdir(), "trusted-")), "persisted-query-manifest.json");
  const operations = [
    { id: sha256(LISTED), name: "Listed", type: "query", body: LISTED },
    { id: sha256(WATCH), name: "Watch", type: "subscription", body: WATCH },
  ];
  writeFileSync(path, JSON.stringify({ format: "apollo-persisted-query-manifest", version: 1, operations }));
  return path;
}

/** A direct caller's credentials in `require` mode (a frontend's user), unless the test sends the router's. */
let bearer: Record<string, string> = {};

async function post(
  harness: Harness,
  body: unknown,
  headers: Record<string, string> = bearer,
): Promise<GraphQLResponse<{ userAccessTask: { taskId: string } | null }>> {
  const response = await fetch(harness.service.url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, ...(JSON.parse(text) as object), text };
}

const batchGets = (harness: Harness) => harness.emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks").length;

/** PERSISTED_DOCUMENTS over real HTTP and WebSocket: what runs, what is refused before parsing, and what reached AppFabric. */
describe("trusted documents, require mode", () => {
  let harness: Harness;
  const logs = collectLogs("info");
  const clients: TestClient[] = [];

  beforeAll(async () => {
    // Direct callers: a frontend's users, each with a JWT (no router secret: with one, every request is a router's).
    const config = testConfig(
      {},
      {
        PERSISTED_DOCUMENTS: "require",
        PERSISTED_DOCUMENTS_MANIFEST: apolloManifest(),
        AUTH_JWT_PUBLIC_KEY: await trustedPublicKeyPem(),
        AUTH_JWT_ISSUER: ISSUER,
        AUTH_JWT_AUDIENCE: AUDIENCE,
      },
    );
    bearer = { authorization: `Bearer ${await signToken({ sub: "frontend-user" })}` };
    harness = await startHarness({ config: { trustedDocuments: config.trustedDocuments, auth: config.auth }, logger: logs.logger });
  });
  afterAll(async () => {
    await disposeAll(clients);
    await harness.close();
    bearer = {};
  });

  it("runs a listed document sent by id alone, as Apollo's persisted query link sends it", async () => {
    const before = batchGets(harness);
    const answer = await post(harness, { variables: { id: ID }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(LISTED) } } });
    expect(answer.status).toBe(200);
    expect(answer.data?.userAccessTask?.taskId).toBe(ID);
    expect(batchGets(harness)).toBe(before + 1);
  });

  it("runs it by GraphQL over HTTP's documentId, with or without its algorithm, and by GET", async () => {
    for (const documentId of [sha256(LISTED), `sha256:${sha256(LISTED)}`]) {
      const answer = await post(harness, { documentId, variables: { id: ID } });
      expect(answer.data?.userAccessTask?.taskId).toBe(ID);
    }
    const url = new URL(harness.service.url);
    url.searchParams.set("extensions", JSON.stringify({ persistedQuery: { version: 1, sha256Hash: sha256(LISTED) } }));
    url.searchParams.set("variables", JSON.stringify({ id: ID }));
    const answer = await fetch(url, { headers: { "apollo-require-preflight": "true", ...bearer } });
    expect(((await answer.json()) as { data: { userAccessTask: { taskId: string } } }).data.userAccessTask.taskId).toBe(ID);
  });

  it("runs a listed document sent in full, byte for byte", async () => {
    expect((await post(harness, { query: LISTED, variables: { id: ID } })).data?.userAccessTask?.taskId).toBe(ID);
  });

  it("refuses anything else before parsing, with PERSISTED_QUERY_NOT_IN_LIST, counts it and calls nothing", async () => {
    const before = batchGets(harness);
    const counted = await metric(harness.service.url, 'http_requests_refused_total{reason="untrusted_document"}');
    const refusals = [
      await post(harness, { query: UNLISTED, variables: { id: ID } }),
      // A listed document with one more space is another document.
      await post(harness, { query: `${LISTED} `, variables: { id: ID } }),
      await post(harness, { documentId: sha256(UNLISTED), variables: { id: ID } }),
      await post(harness, { query: UNLISTED, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(UNLISTED) } } }),
      // An id that names nothing listed, beside listed text.
      await post(harness, { query: LISTED, variables: { id: ID }, extensions: { persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } } }),
      // Not even parsed: a document that would not parse is refused the same way.
      await post(harness, { query: "{ not graphql" }),
    ];
    for (const answer of refusals) {
      expect(answer.status).toBe(400);
      expect(answer.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_IN_LIST");
      expect(answer.data).toBeUndefined();
    }
    expect(batchGets(harness)).toBe(before);
    expect(await metric(harness.service.url, 'http_requests_refused_total{reason="untrusted_document"}')).toBe(counted + refusals.length);
    const lines = logs.lines().filter((line) => line["reason"] === "untrusted_document");
    expect(lines.length).toBeGreaterThanOrEqual(refusals.length);
    expect(lines.every((line) => line["level"] === 30)).toBe(true);
  });

  it("applies the same list to subscriptions over WebSocket", async () => {
    const client = wsClient(harness.service.url, { webSocketImpl: withHandshakeHeaders(bearer) });
    clients.push(client);
    const unlisted = watch(client.client, WATCH.replace("taskId app", "taskId"), { ids: [ID] });
    const ended = await unlisted.ended;
    expect(ended.kind).toBe("error");
    expect(JSON.stringify(ended)).toContain("PERSISTED_QUERY_NOT_IN_LIST");

    // Task 1 stays IN_PROGRESS: its first snapshot is what the listed subscription is asked for.
    const listed = watch(client.client, WATCH, { ids: [ID] });
    await vi.waitFor(() => expect(listed.events[0]?.data).toBeDefined(), { timeout: 10_000 });
    listed.stop();
  });
});

describe("trusted documents with ROUTER_SECRET", () => {
  let harness: Harness;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    const config = testConfig({}, { PERSISTED_DOCUMENTS: "require", PERSISTED_DOCUMENTS_MANIFEST: apolloManifest(), ROUTER_SECRET: SECRET });
    expect(settingWarnings(config).join("\n")).toContain("PERSISTED_DOCUMENTS binds no request");
    harness = await startHarness({ config: { trustedDocuments: config.trustedDocuments, auth: config.auth } });
  });
  afterAll(async () => {
    await disposeAll(clients);
    await harness.close();
  });

  it("lets requests that carry the secret through, over HTTP and WebSocket: a router's query plans are not its frontends' documents", async () => {
    const answer = await post(harness, { query: UNLISTED, variables: { id: ID } }, { "router-authorization": SECRET });
    expect(answer.status).toBe(200);
    expect(answer.data?.userAccessTask?.taskId).toBe(ID);
    const router = wsClient(harness.service.url, { webSocketImpl: withHandshakeHeaders({ "router-authorization": SECRET }) });
    clients.push(router);
    const plan = watch(router.client, WATCH.replace("taskId app", "taskId"), { ids: [ID] });
    await vi.waitFor(() => expect(plan.events[0]?.data).toBeDefined(), { timeout: 10_000 });
    plan.stop();
  });
});

describe("trusted documents, allow mode", () => {
  let harness: Harness;

  beforeAll(async () => {
    const config = testConfig({}, { PERSISTED_DOCUMENTS: "allow", PERSISTED_DOCUMENTS_MANIFEST: apolloManifest() });
    harness = await startHarness({ config: { trustedDocuments: config.trustedDocuments } });
  });
  afterAll(() => harness.close());

  it("runs listed documents by id and everything else as sent; an unknown documentId has nothing to run", async () => {
    expect((await post(harness, { documentId: sha256(LISTED), variables: { id: ID } })).data?.userAccessTask?.taskId).toBe(ID);
    expect((await post(harness, { query: UNLISTED, variables: { id: ID } })).data?.userAccessTask?.taskId).toBe(ID);
    const unknown = await post(harness, { documentId: sha256(UNLISTED), variables: { id: ID } });
    expect(unknown.status).toBe(400);
    expect(unknown.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_IN_LIST");
    // An unknown hash goes on to automatic persisted queries, as without a manifest.
    const apq = await post(harness, { variables: { id: ID }, extensions: { persistedQuery: { version: 1, sha256Hash: sha256(UNLISTED) } } });
    expect(apq.errors?.[0]?.extensions?.["code"]).toBe("PERSISTED_QUERY_NOT_FOUND");
  });
});
