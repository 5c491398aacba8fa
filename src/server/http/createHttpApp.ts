import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { ServerObserver } from "../ServerObserver.js";
import type { ServerLimits } from "../ServerSettings.js";
import { clientErrorHandler, closeTimedOutConnection, frameworkErrorHandler } from "./refusals.js";

/** A caller's request id is kept if it is plain text of sane length; otherwise one is made up. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

export function requestIdOf(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** How often Node checks connections for the header and request timeouts (its default is 30 s). */
const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
/** Added to arrival plus operation time before a connection without progress is closed. */
const INACTIVITY_MARGIN_MS = 5_000;

/**
 * Fastify (the fastest of the integrations measured, see `npm run bench:http`) with what bounds a
 * connection before any route runs: body size, the time a request may take to arrive, the time a
 * connection may make no progress, the number of connections; each request gets an id, echoed in
 * `x-request-id`.
 */
export function createHttpApp(limits: ServerLimits, { logger, metrics }: { logger: Logger; metrics: ServerObserver }): FastifyInstance {
  // Fastify's own per-request lines are off: the operation observer writes one line per operation.
  const fastifyLogger: FastifyBaseLogger = logger;
  const app = Fastify({
    loggerInstance: fastifyLogger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    bodyLimit: limits.maxRequestBytes,
    // A request's headers and body must arrive within this; a stalled upload is answered 408 and closed.
    requestTimeout: limits.requestTimeoutMs,
    // A socket with no progress for this long while a request is under way is closed: a client that
    // stops reading its answers must not hold the connection and its unsent answers for ever. Longer
    // than the most a request may take to arrive and run; idle keep-alive has its own timeout (72 s).
    connectionTimeout: limits.requestTimeoutMs + limits.operationTimeoutMs + INACTIVITY_MARGIN_MS,
    // Host is checked in the refusals' hook, which answers and logs like every other refusal.
    http: { headersTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS, requireHostHeader: false },
    clientErrorHandler: clientErrorHandler({ logger, metrics }),
    frameworkErrors: frameworkErrorHandler({ logger, metrics }),
  });
  app.server.maxConnections = limits.maxConnections;
  app.server.on("timeout", closeTimedOutConnection(app.server, { logger, metrics }));
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  return app;
}
