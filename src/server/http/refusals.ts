import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { ErrorCode } from "../../errors/ErrorCode.js";
import type { ServerObserver } from "../ServerObserver.js";
import { refusalReasonOf, type RefusalReason } from "../../observability/refusalReasons.js";
import type { Operation } from "../createOperation.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Why this request was refused, when the code that refused it knows better than the status. */
    refusal?: RefusalReason;
    /** The GraphQL operation this request became, once its context was made. */
    operation?: Operation;
    /** Set once the refusal is logged, so that it is never logged twice. */
    refusalLogged?: boolean;
  }
}

/** A GraphQL-shaped error body, so that clients parse every refusal the same way. */
export function errorBody(message: string, code: ErrorCode) {
  return { errors: [{ message, extensions: { code } }] };
}

/**
 * Every refused request is logged once, at `info` (a caller's mistake is not a fault of this service),
 * with its request id, status and a fixed reason word, and counted by that reason. An operation that
 * Apollo refused (parse, validation, limits) has its own line from the operation observer, which also
 * counts it; the rest (authentication, body, content type, CSRF, 404, 406) are logged here.
 * Fastify's own refusals are answered in GraphQL's error shape, and the 404 does not repeat the path.
 */
export function installRefusals(app: FastifyInstance, { logger, metrics }: { logger: Logger; metrics: ServerObserver }) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ requestId: request.id, err: error }, "Unexpected error in the HTTP layer");
      return reply.code(500).send(errorBody("Unexpected error.", ErrorCode.INTERNAL_SERVER_ERROR));
    }
    request.refusal = error.code === "FST_ERR_CTP_INVALID_JSON_BODY" || error.code === "FST_ERR_CTP_EMPTY_JSON_BODY" ? "invalid_json" : undefined;
    return reply.code(status).send(errorBody(httpErrorMessage(error, request.routeOptions.bodyLimit), ErrorCode.BAD_REQUEST));
  });

  // A missing or malformed Host (HTTP/1.0 or 1.1 without one, `Host: a b`) is the caller's mistake,
  // answered here; Node's own check (off, see startServer) would answer a bare 400 nobody logs, and
  // Apollo's integration, which builds a URL from it, a 500.
  app.addHook("onRequest", async (request, reply) => {
    if (request.hostname === "" || !URL.canParse(`http://${request.hostname}/`)) {
      request.refusal = "bad_request";
      return reply.code(400).send(errorBody("Send a Host header with a valid host name.", ErrorCode.BAD_REQUEST));
    }
    // A compressed body would otherwise be read as JSON and refused as "not valid JSON".
    const encoding = request.headers["content-encoding"]?.trim().toLowerCase();
    if (encoding !== undefined && encoding !== "" && encoding !== "identity") {
      request.refusal = "unsupported_media_type";
      return reply.code(415).send(errorBody("Send the request body uncompressed: no content-encoding is accepted.", ErrorCode.BAD_REQUEST));
    }
  });

  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).send(errorBody("Nothing is served at this path. GraphQL is served at /, probes at /health and /ready.", ErrorCode.BAD_REQUEST)),
  );

  // Apollo answers some refusals itself (CSRF, a GET mutation); their reason is read off the answer.
  app.addHook("onSend", async (request, reply, payload) => {
    if (reply.statusCode >= 400 && reply.statusCode < 500 && request.refusal === undefined && request.operation?.context.log.written !== true) {
      request.refusal = reasonFromBody(reply.statusCode, payload);
    }
    return payload;
  });

  app.addHook("onResponse", async (request, reply) => logRefusal(request, reply.statusCode, logger, metrics));
}

/**
 * Logs and counts a refusal now, for the few that cannot wait for `onResponse`: Fastify runs it only
 * once the answer is written, and an answer to a caller who hung up never is.
 */
export function logRefusalNow(
  request: FastifyRequest,
  status: number,
  reason: RefusalReason,
  { logger, metrics }: { logger: Logger; metrics: ServerObserver },
): void {
  request.refusal = reason;
  logRefusal(request, status, logger, metrics);
}

/**
 * Fastify's `frameworkErrors`: what it refuses before routing (a path with a malformed
 * percent-escape, `/%ZZ`) is answered like every other refusal, with a request id, logged and
 * counted, and without repeating the path, which Fastify's own answer would (it may hold an address).
 */
export function frameworkErrorHandler({ logger, metrics }: { logger: Logger; metrics: ServerObserver }) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const badUrl = error.code === "FST_ERR_BAD_URL";
    logRefusalNow(request, 400, "bad_request", { logger, metrics });
    void reply
      .code(400)
      .header("x-request-id", request.id)
      .send(
        errorBody(badUrl ? "The request's path is not a valid URL (a malformed percent-escape)." : "The request could not be routed.", ErrorCode.BAD_REQUEST),
      );
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request (a request
 * that did not arrive within REQUEST_TIMEOUT_MS, malformed HTTP) is answered in GraphQL's error shape,
 * logged and counted like every other refusal, and the connection closed.
 */
export function clientErrorHandler({ logger, metrics }: { logger: Logger; metrics: ServerObserver }) {
  return (error: Error & { code?: string }, socket: Socket): void => {
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const refusal = CLIENT_ERRORS[error.code ?? ""] ?? CLIENT_ERRORS["default"];
    if (refusal === undefined) return;
    metrics.requestRefused(refusal.reason);
    logger.info({ requestId: randomUUID(), status: refusal.status, reason: refusal.reason }, "request refused");
    if (refusal.reason === "caller_gone") return void socket.destroy(); // nobody to answer
    const body = JSON.stringify(errorBody(refusal.message, ErrorCode.BAD_REQUEST));
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${refusal.status} ${refusal.statusText}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    }
    socket.destroy();
  };
}

/**
 * The server's `timeout` listener (which replaces Node's own close, so it closes the socket itself).
 * Node raises it for two reasons, told apart by the socket's timeout: a connection that made no
 * progress for `connectionTimeout` while a request was under way (a client that stopped reading:
 * logged and counted as `connection_stalled`), and an idle keep-alive connection reaching its
 * keep-alive timeout, which is ordinary and closed quietly.
 */
export function closeTimedOutConnection(server: { timeout: number }, { logger, metrics }: { logger: Logger; metrics: ServerObserver }) {
  return (socket: Pick<Socket, "timeout" | "destroy">): void => {
    if (socket.timeout === server.timeout) {
      metrics.requestRefused("connection_stalled");
      logger.info({ reason: "connection_stalled" }, "connection closed: no progress");
    }
    socket.destroy();
  };
}

/** What Node's parser refuses, as the caller is told. */
const CLIENT_ERRORS: Record<string, { status: number; statusText: string; reason: RefusalReason; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    statusText: "Request Timeout",
    reason: "request_timeout",
    message: "The request did not arrive in time; the connection is closed.",
  },
  HPE_HEADER_OVERFLOW: {
    status: 431,
    statusText: "Request Header Fields Too Large",
    reason: "headers_too_large",
    message: "The request's headers (or its URL) are too large.",
  },
  // The caller closed its side in the middle of a request: it gave up, it did not send malformed HTTP.
  HPE_INVALID_EOF_STATE: { status: 499, statusText: "Client Closed Request", reason: "caller_gone", message: "" },
  default: { status: 400, statusText: "Bad Request", reason: "bad_request", message: "The HTTP request is malformed." },
};

function logRefusal(request: FastifyRequest, status: number, logger: Logger, metrics: ServerObserver): void {
  // A 4xx, or an answer whoever refused it named (503 when the identity provider is down, 499).
  const isRefusal = request.refusal !== undefined || (status >= 400 && status < 500);
  if (!isRefusal || request.refusalLogged === true || request.operation?.context.log.written === true) return;
  request.refusalLogged = true;
  const reason = request.refusal ?? refusalReasonOf(status, undefined);
  metrics.requestRefused(reason);
  logger[status >= 500 ? "warn" : "info"]({ requestId: request.id, method: request.method, status, reason }, "request refused");
}

function reasonFromBody(status: number, payload: unknown): RefusalReason {
  if (typeof payload !== "string" || payload.length > 10_000) return refusalReasonOf(status, undefined);
  try {
    const body = JSON.parse(payload) as { errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> };
    const first = body.errors?.[0];
    const code = typeof first?.extensions?.code === "string" ? first.extensions.code : undefined;
    return refusalReasonOf(status, code, typeof first?.message === "string" ? first.message : undefined);
  } catch {
    return refusalReasonOf(status, undefined);
  }
}

function httpErrorMessage(error: FastifyError, maxRequestBytes: number): string {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return "The request body is not valid JSON.";
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return 'The request body is empty; send {"query": "…"} as JSON.';
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `The request body is larger than the ${maxRequestBytes} bytes allowed.`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "Send GraphQL requests with content-type: application/json.";
    default:
      // Fastify's other messages can quote the request (a bad URL component, say): none is forwarded.
      return "The HTTP request is malformed.";
  }
}
