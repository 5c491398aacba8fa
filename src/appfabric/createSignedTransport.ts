import type { Clock } from "../lib/Clock.js";
import { isClockSkewError } from "@smithy/core/retry";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from "@smithy/types";
import { SIGNING_SERVICE } from "./constants.js";
import { AppFabricTransportError, CredentialsUnavailableError, deadlineError, type ResponseMetadata } from "./errors.js";
import { ensureError } from "../lib/ensureError.js";
import { isRecord } from "../lib/isRecord.js";
import { parseServiceError, requestIdOf } from "./parseServiceError.js";
import type { HttpResponse, SendHttp } from "./createPoolSend.js";

export interface SignedTransportOptions {
  /** Base URL, e.g. `https://appfabric.us-east-1.amazonaws.com` or the emulator's. */
  endpoint: URL;
  /** SigV4 signing region. */
  region: string;
  /** Static credentials or a provider (providers cache and refresh on their own). */
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** HTTP: a keep-alive undici Pool to the endpoint (`createPoolSend`); tests pass their own. */
  send: SendHttp;
  /** Per-attempt timeout covering connect, headers and body. */
  timeoutMs: number;
  /** Signing clock; injected for deterministic signatures in tests. */
  now?: Clock;
  /** Told when AppFabric's `Date` shows this clock 5 minutes or more off, with the offset now signed with (ms, AppFabric minus here). */
  onClockSkew?: (offsetMs: number) => void;
}

/** AWS refuses a signature more than 5 minutes from its clock; SDKs correct their own past this. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** One answered attempt: the parsed JSON body and what AWS said about the response. */
export interface TransportResponse {
  body: unknown;
  metadata: ResponseMetadata;
}

/** Sends one signed restJson1 POST; knows nothing of retries. */
export type Transport = (path: string, payload: object, deadline: AbortSignal | undefined) => Promise<TransportResponse>;

/**
 * The transport: signs a restJson1 POST with SigV4 (`@smithy/signature-v4`), sends it with a
 * per-attempt timeout and the operation's deadline, and turns every outcome into parsed JSON, an
 * `AppFabricServiceError` (AWS said no) or an `AppFabricTransportError` (no usable answer).
 */
export function createSignedTransport(options: SignedTransportOptions): Transport {
  const signer = createSigner({ region: options.region, credentials: options.credentials });
  const { send, onClockSkew } = options;
  const now = options.now ?? Date.now;
  const { endpoint, timeoutMs } = options;
  /**
   * How far AppFabric's clock is ahead of this one (ms), as AWS SDKs keep `systemClockOffset`: 0 until
   * an answer's `Date` shows a skew of 5 minutes or more, then that answer's offset.
   */
  let clockOffsetMs = 0;
  /** Reads an answer's `Date`; true when it moved the offset (signing was off by 5 minutes or more). */
  const corrected = (date: string | string[] | undefined): boolean => {
    const serverTime = Date.parse(Array.isArray(date) ? (date[0] ?? "") : (date ?? ""));
    if (Number.isNaN(serverTime)) return false;
    const here = now();
    if (Math.abs(here + clockOffsetMs - serverTime) < MAX_CLOCK_SKEW_MS) return false;
    clockOffsetMs = serverTime - here;
    onClockSkew?.(clockOffsetMs);
    return true;
  };

  /** The headers to send, SigV4-signed. A failure here is the credential chain's: nothing was sent. */
  const sign = async (url: URL, body: string): Promise<Record<string, string>> => {
    try {
      return await signedHeaders(signer, { url, body, contentType: "application/json", signingDate: new Date(now() + clockOffsetMs) });
    } catch (error) {
      throw new CredentialsUnavailableError(error);
    }
  };

  return async (path, payload, deadline) => {
    const url = new URL(endpoint.pathname.replace(/\/$/, "") + path, endpoint);
    const body = JSON.stringify(payload);
    const headers = await sign(url, body);
    // Signing yields to the event loop: the callers may have gone meanwhile.
    if (deadline?.aborted) throw deadlineError(deadline.reason);

    // One timer per attempt, held here until the attempt ends. (`AbortSignal.any` over
    // `AbortSignal.timeout` holds its timeout signal weakly: once collected, it never fires.)
    const attempt = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attempt.abort();
    }, timeoutMs);
    const onDeadline = () => attempt.abort(deadline?.reason);
    deadline?.addEventListener("abort", onDeadline, { once: true });
    let response: HttpResponse;
    try {
      response = await send({ url, headers, body, signal: attempt.signal });
    } catch (error) {
      if (deadline?.aborted) throw deadlineError(error, true);
      if (timedOut) throw new AppFabricTransportError("timeout", `AppFabric did not answer within ${timeoutMs} ms`, { cause: ensureError(error) });
      throw toTransportError(error);
    } finally {
      clearTimeout(timer);
      deadline?.removeEventListener("abort", onDeadline);
    }

    const { status, text, headers: answered } = response;
    const skewCorrected = corrected(answered["date"]);
    // Headers are flattened only for an error answer, which reads several; a success needs one.
    if (status < 200 || status > 299) {
      const error = parseServiceError(status, flatHeaders(answered), text);
      // Refused for this clock (a signature "expired" or "in the future"): the retry layer tries once more,
      // now signed on AppFabric's time, as AWS SDKs do. smithy's classifiers read this flag.
      if (skewCorrected && isClockSkewError(error)) error.$metadata.clockSkewCorrected = true;
      throw error;
    }
    const metadata = { httpStatusCode: status, requestId: requestIdOf(answered) };
    // An empty body is an empty structure (smithy's RestJsonGreetingWithErrorsNoPayload), not unreadable.
    if (text.trim() === "") return { body: {}, metadata };
    try {
      return { body: JSON.parse(text) as unknown, metadata };
    } catch (error) {
      const cause = error instanceof Error ? error : undefined;
      throw new AppFabricTransportError("unreadable", "AppFabric's answer is not valid JSON", { cause, metadata });
    }
  };
}

/**
 * The signer every AppFabric request is signed with: SigV4 for `appfabric` in the region, SHA-256 from
 * Node's crypto. `service` and `applyChecksum` are there for AWS's published test vectors, which are
 * signed for a service named `service` and without an `x-amz-content-sha256` header.
 */
export function createSigner(options: {
  region: string;
  credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  service?: string;
  applyChecksum?: boolean;
}): SignatureV4 {
  return new SignatureV4({
    service: options.service ?? SIGNING_SERVICE,
    region: options.region,
    credentials: options.credentials,
    sha256: Hash.bind(null, "sha256"),
    applyChecksum: options.applyChecksum ?? true,
  });
}

/** The headers of a signed POST of `body` to `url`, as the transport sends it. */
export async function signedHeaders(
  signer: SignatureV4,
  request: { url: URL; body: string; contentType?: string; signingDate: Date },
): Promise<Record<string, string>> {
  const { url, body, contentType, signingDate } = request;
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query: {},
      // The URL's own host is the host sent (undici's default), so that is the host signed.
      headers: { host: url.host, ...(contentType === undefined ? {} : { "content-type": contentType }) },
      body,
    },
    { signingDate },
  );
  return signed.headers;
}

/** Response headers as one string each (a repeated header's values joined, as fetch's `Headers` does). */
function flatHeaders(headers: HttpResponse["headers"]): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  return flat;
}

function toTransportError(error: unknown): AppFabricTransportError {
  const cause = ensureError(error);
  const raw = errorCode(cause);
  const code = raw === undefined ? undefined : (UNDICI_TO_NODE_ERROR_CODES[raw] ?? raw);
  return new AppFabricTransportError("connection", `The connection to AppFabric failed${code ? ` (${code})` : ""}`, {
    cause,
    code,
    mayHaveReachedAppFabric: raw === undefined || !NOT_CONNECTED_ERROR_CODES.has(raw),
  });
}

/**
 * undici names socket failures its own way; AWS SDKs, on Node's http module, see the Node
 * codes and smithy's classifiers know only those. A connection dropped mid-answer is `ECONNRESET` to
 * them and retryable, so it must be here too.
 */
const UNDICI_TO_NODE_ERROR_CODES: Record<string, string> = {
  UND_ERR_SOCKET: "ECONNRESET",
  UND_ERR_CLOSED: "ECONNRESET",
  UND_ERR_CONNECT_TIMEOUT: "ETIMEDOUT",
  UND_ERR_HEADERS_TIMEOUT: "ETIMEDOUT",
  UND_ERR_BODY_TIMEOUT: "ETIMEDOUT",
};

/** Failures that happen before a connection exists, so the request cannot have reached AppFabric. */
const NOT_CONNECTED_ERROR_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** The Node error code (`ECONNRESET`, `UND_ERR_SOCKET`…) of an error or of the error that caused it. */
function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; isRecord(current) && depth < 5; current = current["cause"], depth++) {
    if (typeof current["code"] === "string") return current["code"];
  }
  return undefined;
}
