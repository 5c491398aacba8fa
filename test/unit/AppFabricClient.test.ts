import { describe, expect, it } from "vitest";
import { AppFabricClient, type AppFabricClientOptions } from "../../src/appfabric/AppFabricClient.js";
import { AppFabricServiceError, AppFabricTransportError, CredentialsUnavailableError } from "../../src/appfabric/errors.js";
import { EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import type { HttpResponse, SendHttp } from "../../src/appfabric/createPoolSend.js";
import { verifySignature } from "../../src/emulator/verifySignature.js";

const SIGNING_DATE = new Date("2026-11-21T12:00:00Z");
const BUNDLE = "arn:aws:appfabric:eu-west-1:111122223333:appbundle/a1b2c3d4-0000-4000-8000-00000000b0d1";
const TASK_ID = "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21";

interface RecordedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** An HTTP send that records what it was asked to send and answers with `respond`. */
function recordingSend(respond: (request: RecordedRequest, signal: AbortSignal) => Promise<HttpResponse> | HttpResponse) {
  const requests: RecordedRequest[] = [];
  const send: SendHttp = async ({ url, headers, body, signal }) => {
    const request = { url: url.href, method: "POST", headers: { ...headers }, body };
    requests.push(request);
    return respond(request, signal);
  };
  return { send, requests };
}

const answer = (status: number, text: string, headers: Record<string, string> = {}): HttpResponse => ({ status, headers, text });
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  answer(status, JSON.stringify(body), { "content-type": "application/json", ...headers });

function client(send: SendHttp, overrides: Partial<AppFabricClientOptions> = {}) {
  return new AppFabricClient({
    endpoint: new URL("https://appfabric.eu-west-1.amazonaws.com"),
    region: "eu-west-1",
    appBundleIdentifier: BUNDLE,
    credentials: EMULATOR_CREDENTIALS,
    send,
    now: () => SIGNING_DATE.getTime(),
    ...overrides,
  });
}

describe("AppFabricClient.batchGetUserAccessTasks", () => {
  it("reads a 200 with an empty body as an empty structure (smithy's RestJsonGreetingWithErrorsNoPayload): no results, no error", async () => {
    const recorder = recordingSend(() => answer(200, "", { "x-amz-request-id": "req-empty" }));
    await expect(client(recorder.send).batchGetUserAccessTasks([TASK_ID])).resolves.toEqual([]);
  });

  it("POSTs the JSON body to /useraccess/batchget, SigV4-signed for appfabric in the configured region", async () => {
    const recorder = recordingSend(() => json(200, { userAccessResultsList: [{ taskId: TASK_ID, app: "Slack" }] }));
    const items = await client(recorder.send).batchGetUserAccessTasks([TASK_ID]);

    expect(items).toEqual([{ taskId: TASK_ID, app: "Slack" }]);
    const [request] = recorder.requests;
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("https://appfabric.eu-west-1.amazonaws.com/useraccess/batchget");
    expect(JSON.parse(request?.body ?? "")).toEqual({ appBundleIdentifier: BUNDLE, taskIdList: [TASK_ID] });
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-amz-date"]).toBe("20261121T120000Z");
    expect(request?.headers["authorization"]).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIAEMULATOR00000000\/20261121\/eu-west-1\/appfabric\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
  });

  it("sends a signature that verifies over exactly the bytes sent", async () => {
    const recorder = recordingSend(() => json(200, {}));
    await client(recorder.send).batchGetUserAccessTasks([TASK_ID]);
    const [request] = recorder.requests;
    const url = new URL(request?.url ?? "");

    const verify = (body: string) =>
      verifySignature(
        { method: "POST", path: url.pathname, headers: { ...request?.headers, host: url.host }, body },
        { region: "eu-west-1", credentialsFor: () => EMULATOR_CREDENTIALS, now: () => SIGNING_DATE.getTime() },
      );
    await expect(verify(request?.body ?? "")).resolves.toBeUndefined();
    await expect(verify((request?.body ?? "").replace(TASK_ID, TASK_ID.replace("3f", "4f")))).resolves.toMatchObject({
      errorType: "InvalidSignatureException",
    });
  });

  it("signs the session token of temporary credentials", async () => {
    const recorder = recordingSend(() => json(200, {}));
    await client(recorder.send, { credentials: { ...EMULATOR_CREDENTIALS, sessionToken: "token-123" } }).batchGetUserAccessTasks([TASK_ID]);
    const headers = recorder.requests[0]?.headers ?? {};

    expect(headers["x-amz-security-token"]).toBe("token-123");
    expect(headers["authorization"]).toContain("SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token,");
  });

  it("asks the credential provider on each call, leaving caching and refresh to the provider", async () => {
    let resolved = 0;
    const provider = async () => {
      resolved += 1;
      return EMULATOR_CREDENTIALS;
    };
    const recorder = recordingSend(() => json(200, {}));
    const appFabric = client(recorder.send, { credentials: provider });
    await appFabric.batchGetUserAccessTasks([TASK_ID]);
    await appFabric.batchGetUserAccessTasks([TASK_ID]);
    expect(resolved).toBe(2);
  });

  it("keeps the endpoint's base path (a proxy or VPC endpoint)", async () => {
    const recorder = recordingSend(() => json(200, {}));
    await client(recorder.send, { endpoint: new URL("http://127.0.0.1:9999/appfabric/") }).batchGetUserAccessTasks([TASK_ID]);
    expect(recorder.requests[0]?.url).toBe("http://127.0.0.1:9999/appfabric/useraccess/batchget");
  });

  it("answers [] when AWS leaves userAccessResultsList out", async () => {
    await expect(client(recordingSend(() => json(200, {})).send).batchGetUserAccessTasks([TASK_ID])).resolves.toEqual([]);
  });

  it("throws AppFabricServiceError for an error status", async () => {
    const send = recordingSend(() => json(429, { message: "slow down" }, { "x-amzn-errortype": "ThrottlingException", "retry-after": "2" })).send;
    const error = await client(send, { maxAttempts: 1 })
      .batchGetUserAccessTasks([TASK_ID])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AppFabricServiceError);
    expect(error).toMatchObject({ name: "ThrottlingException", details: { statusCode: 429, retryAfterSeconds: 2 } });
  });

  it.each([
    { what: "a body that is not JSON", body: "{not json" },
    { what: "a list that is not a list", body: '{"userAccessResultsList": "x"}' },
    { what: "list items that are not objects", body: '{"userAccessResultsList": [1, 2]}' },
  ])("throws an unreadable-response error for $what", async ({ body }) => {
    const send = recordingSend(() => answer(200, body, { "x-amzn-requestid": "req-3" })).send;
    const error = await client(send)
      .batchGetUserAccessTasks([TASK_ID])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AppFabricTransportError);
    expect(error).toMatchObject({ failure: "unreadable", $metadata: { httpStatusCode: 200, requestId: "req-3" } });
  });

  it("times out an attempt that does not answer in timeoutMs", async () => {
    const hang = recordingSend(
      (_request, signal) => new Promise<HttpResponse>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const error = await client(hang.send, { timeoutMs: 20 })
      .batchGetUserAccessTasks([TASK_ID])
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ failure: "timeout", name: "TimeoutError", message: "AppFabric did not answer within 20 ms" });
  });

  it("throws CredentialsUnavailableError and sends nothing when no credentials can be found", async () => {
    const recorder = recordingSend(() => json(200, {}));
    const failing = async () => {
      throw new Error("Could not load credentials from any providers");
    };
    const error = await client(recorder.send, { credentials: failing })
      .batchGetUserAccessTasks([TASK_ID])
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(CredentialsUnavailableError);
    expect(recorder.requests).toEqual([]);
  });
});

describe("AppFabricClient retries and limits", () => {
  it("retries a throttled call and succeeds, as AWS SDKs do", async () => {
    const statuses = [429, 200];
    const recorder = recordingSend(() =>
      json(statuses.shift() ?? 200, { userAccessResultsList: [{ taskId: TASK_ID }] }, { "x-amzn-errortype": "ThrottlingException" }),
    );
    await expect(client(recorder.send).batchGetUserAccessTasks([TASK_ID])).resolves.toEqual([{ taskId: TASK_ID }]);
    expect(recorder.requests).toHaveLength(2);
  });

  it("does not retry what cannot succeed again (400, 403, 404, unreadable)", async () => {
    for (const [status, body] of [
      [400, "{}"],
      [403, "{}"],
      [404, "{}"],
      [200, "not json"],
    ] as const) {
      const recorder = recordingSend(() => answer(status, body));
      await expect(client(recorder.send).batchGetUserAccessTasks([TASK_ID])).rejects.toBeInstanceOf(Error);
      expect(recorder.requests).toHaveLength(1);
    }
  });

  it("stops after maxAttempts", async () => {
    const recorder = recordingSend(() => json(503, {}));
    await expect(client(recorder.send, { maxAttempts: 2 }).batchGetUserAccessTasks([TASK_ID])).rejects.toMatchObject({ details: { statusCode: 503 } });
    expect(recorder.requests).toHaveLength(2);
  });

  it("stops retrying when the retry quota is spent, so a failing AppFabric is not hammered", async () => {
    const recorder = recordingSend(() => json(500, {}, { "x-amzn-errortype": "InternalServerException" }));
    const appFabric = client(recorder.send);
    const attempts: number[] = [];
    for (let call = 0; call < 20; call++) {
      const before = recorder.requests.length;
      await appFabric.batchGetUserAccessTasks([TASK_ID]).catch(() => undefined);
      attempts.push(recorder.requests.length - before);
    }
    // 500 tokens, 14 per transient retry, no refund for failures: 17 calls get two retries, one gets one.
    expect(attempts).toEqual([...Array(17).fill(3), 2, 1, 1]);
  });

  it("keeps at most maxConcurrency attempts in flight; the rest wait", async () => {
    let inFlight = 0;
    let peak = 0;
    const send: SendHttp = async () => {
      peak = Math.max(peak, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 10));
      inFlight -= 1;
      return json(200, {});
    };
    await Promise.all(Array.from({ length: 20 }, () => client(send, { maxConcurrency: 3 }).batchGetUserAccessTasks([TASK_ID])));
    expect(peak).toBe(20); // twenty clients: twenty limits

    const shared = client(send, { maxConcurrency: 3 });
    peak = 0;
    await Promise.all(Array.from({ length: 20 }, () => shared.batchGetUserAccessTasks([TASK_ID])));
    expect(peak).toBe(3);
  });

  it("gives up at the deadline: an attempt in flight is cancelled and nothing is retried", async () => {
    const hang = recordingSend(
      (_request, signal) => new Promise<HttpResponse>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    // The send never answers: only the deadline can settle this call.
    const error = await client(hang.send)
      .batchGetUserAccessTasks([TASK_ID], { signal: AbortSignal.timeout(50) })
      .catch((e: unknown) => e);

    expect(error).toMatchObject({ failure: "deadline" });
    expect(hang.requests).toHaveLength(1);
  });

  it("sends nothing for a call whose deadline passed while it waited for a slot, and answers it without waiting for the slot", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const recorder = recordingSend(async () => {
      await held;
      return json(200, {});
    });
    const appFabric = client(recorder.send, { maxConcurrency: 1 });
    const first = appFabric.batchGetUserAccessTasks([TASK_ID]);
    const deadline = new AbortController();
    const second = appFabric.batchGetUserAccessTasks([TASK_ID], { signal: deadline.signal });
    deadline.abort();

    // The first call still holds the only slot: the second is answered anyway.
    await expect(second).rejects.toMatchObject({ failure: "deadline", mayHaveReachedAppFabric: false });
    release();
    await first;
    expect(recorder.requests).toHaveLength(1);
  });

  it("times an attempt out after timeoutMs even while the operation's deadline is far off", async () => {
    const hang = recordingSend(
      (_request, signal) => new Promise<HttpResponse>((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason))),
    );
    const error = await client(hang.send, { timeoutMs: 30, maxAttempts: 1 })
      .batchGetUserAccessTasks([TASK_ID], { signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ failure: "timeout" });
  });

  it("refuses at once, with nothing sent, when too many calls already wait for a slot", async () => {
    const recorder = recordingSend(() => new Promise<HttpResponse>(() => undefined));
    const appFabric = client(recorder.send, { maxConcurrency: 1, maxQueuedCalls: 2 });
    for (let n = 0; n < 3; n++) void appFabric.batchGetUserAccessTasks([TASK_ID]).catch(() => undefined);
    await expect(appFabric.batchGetUserAccessTasks([TASK_ID])).rejects.toMatchObject({ name: "OverloadedError" });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(recorder.requests).toHaveLength(1);
  });
});
