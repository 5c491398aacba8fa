import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/loadConfig.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { collectLogs } from "../support/collectLogs.js";
import { startHarness, type Harness } from "../support/harness.js";
import { spawnEntry, withTsx } from "../support/spawnEntry.js";

/** A small OTLP/HTTP receiver: what each POST to /v1/traces carried. */
async function startReceiver(): Promise<{ url: URL; bodies: Array<{ contentType: string; body: Buffer }>; close: () => Promise<void> }> {
  const bodies: Array<{ contentType: string; body: Buffer }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      const raw = Buffer.concat(chunks);
      const body = request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
      if (request.url === "/v1/traces") bodies.push({ contentType: request.headers["content-type"] ?? "", body });
      response
        .writeHead(200, { "content-type": request.headers["content-type"] ?? "application/json" })
        .end(request.headers["content-type"]?.includes("json") ? "{}" : "");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: new URL(`http://127.0.0.1:${port}/`), bodies, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
  links?: Array<{ traceId: string; spanId: string }>;
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans: Array<{ resource: { attributes: OtlpSpan["attributes"] }; scopeSpans: Array<{ spans: OtlpSpan[] }> }>;
}

const spansOf = (bodies: Array<{ body: Buffer }>) =>
  bodies.flatMap(({ body }) =>
    (JSON.parse(body.toString()) as OtlpExport).resourceSpans.flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans)),
  );
const attributes = (span: OtlpSpan | undefined) =>
  Object.fromEntries((span?.attributes ?? []).map(({ key, value }) => [key, Object.values(value)[0]])) as Record<string, unknown>;

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const ROUTER_SPAN_ID = "00f067aa0ba902b7";
const TRACEPARENT = `00-${TRACE_ID}-${ROUTER_SPAN_ID}-01`;
const EMAIL = "jordan.rivers@example.com";

describe("traces: a span per operation, a child of the router's, and one per AppFabric attempt (OTLP/HTTP JSON)", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let harness: Harness;
  const logs = collectLogs();
  beforeAll(async () => {
    receiver = await startReceiver();
    const { tracing } = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url.href, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    harness = await startHarness({ config: { tracing }, logger: logs.logger });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("exports what a router needs and nothing personal", async () => {
    const [a = "", b = ""] = [syntheticTaskId(0), syntheticTaskId(1)];
    const query = await fetch(harness.service.url, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: TRACEPARENT },
      body: JSON.stringify({ query: "query Lookup($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId app } }", variables: { ids: [a, b] } }),
    });
    expect(query.status).toBe(200);
    harness.emulator.injectFault({ fault: { kind: "error", status: 500, errorType: "InternalServerException" }, times: 1 });
    const start = await fetch(harness.service.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `mutation Start { startUserAccessTasks(email: "${EMAIL}") { app } }` }),
    });
    expect(start.status).toBe(200);
    // Stopping flushes the batch of spans: nothing is waited for by the clock.
    await harness.close();

    const spans = spansOf(receiver.bodies);
    const operation = spans.find((span) => span.name === "query Lookup");
    expect(operation).toMatchObject({ traceId: TRACE_ID, parentSpanId: ROUTER_SPAN_ID, kind: 2 });
    expect(attributes(operation)).toMatchObject({
      "graphql.operation.type": "query",
      "graphql.operation.name": "Lookup",
      "appfabric.task_ids": 2,
      "http.response.status_code": 200,
    });
    const call = spans.find((span) => span.name === "AppFabric/BatchGetUserAccessTasks");
    expect(call).toMatchObject({ traceId: TRACE_ID, parentSpanId: operation?.spanId, kind: 3 });
    expect(attributes(call)).toMatchObject({
      "rpc.method": "BatchGetUserAccessTasks",
      "appfabric.task_ids": 2,
      "appfabric.attempt": 1,
      "http.response.status_code": 200,
    });
    expect(attributes(call)["aws.request_id"]).toEqual(expect.any(String));

    // The start without a traceparent is a trace of its own; its failed attempt is an error span.
    const mutation = spans.find((span) => span.name === "mutation Start");
    expect(mutation?.traceId).not.toBe(TRACE_ID);
    const attempts = spans.filter((span) => span.name === "AppFabric/StartUserAccessTasks");
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ parentSpanId: mutation?.spanId, status: { code: 2 } });
    expect(attributes(attempts[0])).toMatchObject({ "http.response.status_code": 500, "error.type": "InternalServerException" });

    const resource = JSON.parse(receiver.bodies[0]?.body.toString() ?? "{}") as OtlpExport;
    expect(attributes({ attributes: resource.resourceSpans[0]?.resource.attributes ?? [] } as OtlpSpan)["service.name"]).toBe("appfabric-user-access-subgraph");

    const exported = receiver.bodies.map(({ body }) => body.toString()).join("\n");
    for (const personal of [a, b, EMAIL, "jordan", "App 0"]) expect(exported.toLowerCase()).not.toContain(personal.toLowerCase());

    // Log lines carry the trace id.
    const operationLine = logs.lines().find((line) => line["msg"] === "operation" && line["operationName"] === "Lookup");
    expect(operationLine?.["traceId"]).toBe(TRACE_ID);
    const callLine = logs.lines().find((line) => line["msg"] === "appfabric call" && line["operation"] === "BatchGetUserAccessTasks");
    expect(callLine?.["traceId"]).toBe(TRACE_ID);
  });
});

describe("traces from the standard variables, in protobuf", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  afterEach(async () => {
    await receiver?.close();
  });

  it("exports protobuf to OTEL_EXPORTER_OTLP_ENDPOINT under OTEL_SERVICE_NAME, and follows a traceparent that says not sampled", async () => {
    receiver = await startReceiver();
    const { child, url, printed } = await spawnEntry(withTsx("src/index.ts"), {
      PORT: "0",
      HOST: "127.0.0.1",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url.href.replace(/\/$/, ""),
      OTEL_SERVICE_NAME: "user-access-under-test",
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      await printed("Tracing: OTLP/HTTP");
      const post = (traceparent: string) =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", traceparent },
          body: JSON.stringify({ query: "query Sampled { __typename }" }),
        });
      expect((await post(TRACEPARENT)).status).toBe(200);
      expect((await post(`00-${"a".repeat(32)}-${ROUTER_SPAN_ID}-00`)).status).toBe(200);
    } finally {
      child.kill("SIGTERM");
      await exited;
    }
    expect(receiver.bodies.length).toBeGreaterThan(0);
    expect(receiver.bodies.every(({ contentType }) => contentType === "application/x-protobuf")).toBe(true);
    const exported = Buffer.concat(receiver.bodies.map(({ body }) => body));
    expect(exported.includes(Buffer.from(TRACE_ID, "hex"))).toBe(true);
    expect(exported.includes(Buffer.from("user-access-under-test"))).toBe(true);
    expect(exported.includes(Buffer.from("query Sampled"))).toBe(true);
    // The caller's "not sampled" is followed (parentbased_always_on): that trace is not exported.
    expect(exported.includes(Buffer.from("a".repeat(32), "hex"))).toBe(false);
  });
});

describe("a collector that is down", () => {
  it("costs a warning, never an answer, and the stop still exits 0 within its bound", async () => {
    const closed = await startReceiver();
    await closed.close(); // nobody listens on its port now
    const { child, url, output, printed } = await spawnEntry(withTsx("src/index.ts"), {
      PORT: "0",
      HOST: "127.0.0.1",
      OTEL_EXPORTER_OTLP_ENDPOINT: closed.url.href,
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    try {
      await printed("Tracing: OTLP/HTTP");
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ __typename }" }) });
      expect(response.status).toBe(200);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(output()).toContain("OpenTelemetry: the last spans were not exported");
    expect(output()).not.toContain("triggerUncaughtException");
  });
});
