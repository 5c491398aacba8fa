import { once } from "node:events";
import type { IncomingMessage } from "node:http";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { disposeAll, metric, watch, WATCH, withHandshakeHeaders, wsClient, wsUrl, type TestClient } from "../support/subscriptions.js";
import { PERSONAL, PERSONAL_TASK_ID, ROUTER_SECRET, signToken, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const ALLOWED_ORIGIN = "https://console.example.com";
const IN_PROGRESS_ID = syntheticTaskId(1); // synthetic tasks cycle COMPLETED, IN_PROGRESS, FAILED, EXPIRED

/** Opens a raw graphql-ws socket with these handshake headers; resolves once open, or with the refusal's status. */
async function rawSocket(url: URL, headers: Record<string, string> = {}): Promise<WebSocket | { status: number; body: string }> {
  const socket = new WebSocket(wsUrl(url), "graphql-transport-ws", { headers });
  return new Promise((resolve, reject) => {
    socket.once("open", () => resolve(socket));
    socket.once("unexpected-response", (_request, response: IncomingMessage) => {
      let body = "";
      response.on("data", (chunk: Buffer) => (body += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.once("error", reject);
  });
}

/** Sends messages on a raw socket and resolves with the messages received until it closes. */
async function exchange(
  socket: WebSocket,
  messages: Array<string | Buffer>,
): Promise<{ received: Array<Record<string, unknown>>; code: number; reason: string }> {
  const received: Array<Record<string, unknown>> = [];
  socket.on("message", (data: Buffer) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
  for (const message of messages) socket.send(message);
  const [code, reason] = (await once(socket, "close")) as [number, Buffer];
  return { received, code, reason: reason.toString() };
}

/**
 * The production build (router secret and JWT both required) attacked over WebSocket: credentials,
 * origins, limits, malformed traffic, expiry. Each test asserts what the caller got, what reached
 * AppFabric, and what the logs hold.
 */
describe("subscriptions resist what HTTP resists", () => {
  let harness: AttackHarness;
  const clients: TestClient[] = [];
  const credentials = async () => ({ "router-authorization": ROUTER_SECRET, authorization: `Bearer ${await signToken({})}` });
  const connect = (options: Parameters<typeof wsClient>[1] = {}) => {
    const client = wsClient(harness.service.url, options);
    clients.push(client);
    return client;
  };
  const batchGets = () => harness.emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks").length;

  beforeAll(async () => {
    harness = await startAttackHarness({ config: { corsOrigins: [ALLOWED_ORIGIN] } });
  });
  afterEach(async () => {
    await disposeAll(clients.splice(0));
    await vi.waitFor(async () => expect(await metric(harness.service.url, "watcher_task_ids")).toBe(0));
    expect(harness.errorLines()).toEqual([]);
    expect(harness.logs.text()).not.toMatch(PERSONAL);
    expect(harness.logs.text()).not.toContain(PERSONAL_TASK_ID);
  });
  afterAll(() => harness.close());

  describe("authentication at connection_init", () => {
    it("closes a connection without credentials (4403) before anything is subscribed or asked", async () => {
      const calls = batchGets();
      const { client, closes } = connect();
      const subscription = watch(client, WATCH, { ids: [PERSONAL_TASK_ID] });
      expect((await subscription.ended).kind).toBe("error");
      expect(closes[0]?.code).toBe(4403);
      expect(closes[0]?.reason).toContain("router-authorization");
      expect(subscription.events).toEqual([]);
      expect(batchGets()).toBe(calls);
    });

    it.each([
      { what: "a wrong router secret", params: async () => ({ ...(await credentials()), "router-authorization": "wrong" }), reason: "router-authorization" },
      { what: "no JWT", params: async () => ({ "router-authorization": ROUTER_SECRET }), reason: "Send a JWT" },
      { what: "an expired JWT", params: async () => ({ ...(await credentials()), authorization: `Bearer ${await signToken({ exp: 1 })}` }), reason: "expired" },
    ])("closes a connection with $what in its connection params (4403)", async ({ params, reason }) => {
      const connectionParams = await params();
      const { client, closes } = connect({ connectionParams });
      expect((await watch(client, WATCH, { ids: [PERSONAL_TASK_ID] }).ended).kind).toBe("error");
      expect(closes[0]).toMatchObject({ code: 4403, reason: expect.stringContaining(reason) as string });
    });

    it("accepts credentials in the connection params (browsers) or in the handshake's headers (routers)", async () => {
      const byParams = connect({ connectionParams: await credentials() });
      const byHeaders = connect({ webSocketImpl: withHandshakeHeaders(await credentials()) });
      for (const { client } of [byParams, byHeaders]) {
        const subscription = watch(client, WATCH, { ids: [PERSONAL_TASK_ID] });
        expect(await subscription.ended).toEqual({ kind: "complete" });
        expect(subscription.events).toHaveLength(1);
      }
    });

    it("closes a connection when its JWT expires, ending its subscriptions and their polling", async () => {
      // Valid for about four more seconds: 26 s past `exp`, inside the 30 s clock tolerance. (One second
      // was too little on a loaded CI machine: the first event came after the expiry had closed the socket.)
      const token = await signToken({ exp: Math.floor(Date.now() / 1000) - 26 });
      const { client, closes } = connect({ connectionParams: { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${token}` } });
      const subscription = watch(client, WATCH, { ids: [IN_PROGRESS_ID] });
      await vi.waitFor(() => expect(subscription.events).toHaveLength(1), { timeout: 3_500 });
      expect((await subscription.ended).kind).toBe("error");
      expect(closes[0]).toMatchObject({ code: 4403, reason: expect.stringContaining("expired") as string });
      await vi.waitFor(async () => expect(await metric(harness.service.url, "watcher_task_ids")).toBe(0));
      expect(harness.logs.lines().some((line) => line["msg"] === "WebSocket closed: its credentials expired")).toBe(true);
    });
  });

  describe("the handshake", () => {
    it("refuses a browser's handshake from an origin not in CORS_ORIGINS (403), and accepts a listed one", async () => {
      const foreign = await rawSocket(harness.service.url, { origin: "https://evil.example.net" });
      expect(foreign).toMatchObject({ status: 403, body: expect.stringContaining("CORS_ORIGINS") as string });
      const sameHostOtherScheme = await rawSocket(harness.service.url, { origin: "http://console.example.com" });
      expect(sameHostOtherScheme).toMatchObject({ status: 403 });
      const allowed = connect({ connectionParams: await credentials(), webSocketImpl: withHandshakeHeaders({ origin: ALLOWED_ORIGIN }) });
      expect(await watch(allowed.client, WATCH, { ids: [PERSONAL_TASK_ID] }).ended).toEqual({ kind: "complete" });
      expect(await metric(harness.service.url, 'http_requests_refused_total{reason="websocket_origin"}')).toBe(2);
    });

    it("accepts a page of the service's own (GraphiQL) from the origin it was served on, and only that origin", async () => {
      const own = harness.service.url.origin;
      const sameOrigin = await rawSocket(harness.service.url, { origin: own });
      expect(sameOrigin).toBeInstanceOf(WebSocket);
      (sameOrigin as WebSocket).close();
      // Same host name, another port: another origin. (https on the same host and port is the same
      // page behind a proxy that ends TLS, and is let in.)
      const otherPort = `http://${harness.service.url.hostname}:${Number(harness.service.url.port) + 1}`;
      for (const origin of [otherPort, `http://evil.example:${harness.service.url.port}`, `${own}.evil.example`, "null"]) {
        expect(await rawSocket(harness.service.url, { origin })).toMatchObject({ status: 403 });
      }
      expect(await metric(harness.service.url, 'http_requests_refused_total{reason="websocket_origin"}')).toBe(6);
    });

    it("serves WebSockets at / only, and only the graphql-transport-ws subprotocol", async () => {
      const elsewhere = new WebSocket(new URL("/graphql", wsUrl(harness.service.url)), "graphql-transport-ws");
      const [, response] = (await once(elsewhere, "unexpected-response")) as [unknown, IncomingMessage];
      expect(response.statusCode).toBe(404);
      response.resume();
      // subscriptions-transport-ws's protocol: the handshake names no subprotocol, which the client refuses.
      const legacy = new WebSocket(wsUrl(harness.service.url), "graphql-ws");
      const [error] = (await once(legacy, "error")) as [Error];
      expect(error.message).toBe("Server sent no subprotocol");
    });
  });

  describe("limits", () => {
    const subscribeOnce = async (query: string, variables: Record<string, unknown> = {}) => {
      const { client } = connect({ connectionParams: await credentials() });
      const subscription = watch(client, query, variables);
      const end = await subscription.ended;
      return {
        end,
        events: subscription.events,
        error: end.kind === "error" ? (end.error as Array<{ message: string; extensions?: Record<string, unknown> }>) : undefined,
      };
    };

    it("refuses more task ids than one operation may list, before anything is asked", async () => {
      const calls = batchGets();
      const ids = Array.from({ length: 501 }, (_, n) => syntheticTaskId(n));
      const { error } = await subscribeOnce(WATCH, { ids });
      expect(error?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
      expect(error?.[0]?.message).toContain("501");
      expect(batchGets()).toBe(calls);
    });

    it("applies the document rules of HTTP: aliases, alias length, depth, tokens", async () => {
      const aliases = Array.from({ length: 21 }, (_, n) => `a${n}: taskId`).join(" ");
      const many = await subscribeOnce(`subscription { userAccessTasksUpdated(ids: []) { ${aliases} } }`);
      expect(many.error?.[0]?.extensions?.["code"]).toBe("GRAPHQL_VALIDATION_FAILED");
      const long = await subscribeOnce(`subscription { userAccessTasksUpdated(ids: []) { ${"a".repeat(65)}: taskId } }`);
      expect(long.error?.[0]?.message).toContain("at most 64 characters");
      const tokens = await subscribeOnce(`subscription { userAccessTasksUpdated(ids: [${Array.from({ length: 3000 }, () => '"x"').join(",")}]) { taskId } }`);
      expect(tokens.error?.[0]?.extensions?.["code"]).toBe("GRAPHQL_PARSE_FAILED");
    });

    it("serves subscriptions only: a query or mutation over WebSocket is refused without running", async () => {
      const starts = harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks").length;
      const mutation = await subscribeOnce(`mutation { startUserAccessTasks(email: "someone@example.com") { taskId } }`);
      expect(mutation.error?.[0]?.message).toContain("over HTTP");
      expect(harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks")).toHaveLength(starts);
      const query = await subscribeOnce(`{ userAccessTask(id: "${PERSONAL_TASK_ID}") { email } }`);
      expect(query.error?.[0]?.extensions?.["code"]).toBe("BAD_REQUEST");
      expect(query.events).toEqual([]);
    });

    it("refuses an eleventh subscription on one connection, and keeps the ten", async () => {
      const { client } = connect({ connectionParams: await credentials() });
      const ten = Array.from({ length: 10 }, () => watch(client, WATCH, { ids: [IN_PROGRESS_ID] }));
      await vi.waitFor(() => expect(ten.every((subscription) => subscription.events.length === 1)).toBe(true));
      const eleventh = watch(client, WATCH, { ids: [IN_PROGRESS_ID] });
      const end = await eleventh.ended;
      expect(end.kind).toBe("error");
      expect(JSON.stringify(end)).toContain("already runs 10 subscriptions");
      expect(await metric(harness.service.url, "graphql_subscriptions_active")).toBe(10);
    });

    it("closes a connection that sends a message over the request size limit (1009), a binary frame, or a server's message (4400)", async () => {
      const init = JSON.stringify({ type: "connection_init", payload: await credentials() });
      const cases: Array<{ messages: Array<string | Buffer>; code: number }> = [
        { messages: [init, JSON.stringify({ type: "subscribe", id: "1", payload: { query: `# ${"x".repeat(110 * 1024)}\n${WATCH}` } })], code: 1009 },
        { messages: [init, Buffer.from([1, 2, 3])], code: 4400 },
        { messages: [init, JSON.stringify({ type: "next", id: "1", payload: {} })], code: 4400 },
        { messages: ["not json"], code: 4400 },
      ];
      for (const { messages, code } of cases) {
        const socket = await rawSocket(harness.service.url);
        if (!(socket instanceof WebSocket)) throw new Error("handshake refused");
        expect((await exchange(socket, messages)).code).toBe(code);
      }
    });

    it("answers a ping with a bare pong (no echo of its payload), and a client resetting mid-flood is not an error", async () => {
      const socket = await rawSocket(harness.service.url);
      if (!(socket instanceof WebSocket)) throw new Error("handshake refused");
      const received: string[] = [];
      socket.on("message", (data: Buffer) => received.push(data.toString()));
      socket.send(JSON.stringify({ type: "connection_init", payload: await credentials() }));
      const ping = JSON.stringify({ type: "ping", payload: { filler: "x".repeat(50_000) } });
      for (let n = 0; n < 200; n++) socket.send(ping);
      await vi.waitFor(() => expect(received.filter((message) => message.includes("pong"))).toHaveLength(200));
      expect(new Set(received.filter((message) => !message.includes("connection_ack")))).toEqual(new Set(['{"type":"pong"}']));
      for (let n = 0; n < 200; n++) socket.send(ping);
      socket.terminate(); // a reset while the service still has pongs to write
      await vi.waitFor(async () => expect(await metric(harness.service.url, "websocket_connections")).toBe(0));
    });

    it("never lets a subscription outlive its connection, whatever the order of subscribe and complete under one id", async () => {
      const socket = await rawSocket(harness.service.url);
      if (!(socket instanceof WebSocket)) throw new Error("handshake refused");
      socket.send(JSON.stringify({ type: "connection_init", payload: await credentials() }));
      const subscribe = JSON.stringify({ id: "x", type: "subscribe", payload: { query: WATCH, variables: { ids: [IN_PROGRESS_ID] } } });
      const complete = JSON.stringify({ id: "x", type: "complete" });
      for (let n = 0; n < 20; n++) {
        socket.send(subscribe);
        socket.send(complete);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
      socket.terminate();
      await vi.waitFor(async () => expect(await metric(harness.service.url, "websocket_connections")).toBe(0));
      await vi.waitFor(async () => expect(await metric(harness.service.url, "graphql_subscriptions_active")).toBe(0));
      // (afterEach then waits for the watcher to hold no id: no poll is left behind.)
    });

    it("refuses a conditional root field (@skip, @include) as invalid, keeping the connection and its other subscriptions", async () => {
      const { client, closes } = connect({ connectionParams: await credentials() });
      const kept = watch(client, WATCH, { ids: [IN_PROGRESS_ID] });
      await vi.waitFor(() => expect(kept.events).toHaveLength(1));
      for (const query of [
        `subscription { userAccessTasksUpdated(ids: ["${IN_PROGRESS_ID}"]) @skip(if: true) { taskId } }`,
        `subscription ($s: Boolean!) { ... @include(if: $s) { userAccessTasksUpdated(ids: ["${IN_PROGRESS_ID}"]) { taskId } } }`,
        `subscription { ...Root } fragment Root on Subscription { userAccessTasksUpdated(ids: []) @include(if: false) { taskId } }`,
      ]) {
        const end = await watch(client, query, { s: true }).ended;
        expect(JSON.stringify(end)).toContain("GRAPHQL_VALIDATION_FAILED");
      }
      // Conditions inside the selection are fine.
      const inner = watch(client, `subscription ($a: Boolean!) { userAccessTasksUpdated(ids: ["${PERSONAL_TASK_ID}"]) { taskId app @include(if: $a) } }`, {
        a: false,
      });
      expect(await inner.ended).toEqual({ kind: "complete" });
      expect(inner.events[0]?.data).toEqual({ userAccessTasksUpdated: [{ taskId: PERSONAL_TASK_ID }] });
      expect(closes).toEqual([]);
      expect(kept.events).toHaveLength(1);
    });

    it("closes a connection that subscribes before connection_init (4401), or never sends it (4408)", async () => {
      const early = await rawSocket(harness.service.url);
      if (!(early instanceof WebSocket)) throw new Error("handshake refused");
      const answer = await exchange(early, [JSON.stringify({ type: "subscribe", id: "1", payload: { query: WATCH, variables: { ids: [PERSONAL_TASK_ID] } } })]);
      expect(answer).toMatchObject({ code: 4401, received: [] });
      const silent = await rawSocket(harness.service.url);
      if (!(silent instanceof WebSocket)) throw new Error("handshake refused");
      expect((await exchange(silent, [])).code).toBe(4408);
    });
  });
});
