import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import fastifyCors from "@fastify/cors";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import Fastify, { LogController, type FastifyError } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import { ErrorCode } from "../errors/ErrorCode.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { Metrics } from "../observability/Metrics.js";
import { operationObserverPlugin } from "../observability/operationObserverPlugin.js";
import type { TaskStarter } from "./context.js";
import { createApolloServer, createContext } from "./createApolloServer.js";
import { createAuthenticator } from "./createAuthenticator.js";
import type { ReadinessReport } from "./createReadinessCheck.js";

export interface StartServerOptions {
  config: Pick<Config, "port" | "host" | "production" | "introspection" | "limits" | "corsOrigins" | "auth">;
  /** Where loads go: the AppFabric client, directly or through the cross-operation batcher. */
  source: UserAccessTaskSource;
  /** Where the mutation goes: the AppFabric client. */
  starter: TaskStarter;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<ReadinessReport>;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
}

export interface RunningServer {
  /** The GraphQL endpoint (also Sandbox, where enabled). */
  url: URL;
  /** Stops taking requests, lets in-flight ones finish, then resolves. */
  stop(): Promise<void>;
}

/** A caller's request id is kept if it is plain text of sane length; otherwise one is made up. */
const REQUEST_ID = /^[\w.:-]{1,128}$/;

function requestIdOf(request: IncomingMessage): string {
  const given = request.headers["x-request-id"];
  return typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
}

/** A GraphQL-shaped error body, so that clients parse every refusal the same way. */
function errorBody(message: string, code: ErrorCode) {
  return { errors: [{ message, extensions: { code } }] };
}

/**
 * The HTTP server: Fastify (the fastest of the integrations measured, see `npm run bench:http`)
 * serving GraphQL at `/`, plus `/health`, `/ready` and `/metrics`. In front of GraphQL: CORS from an
 * explicit allow-list, a body size limit, and authentication when configured.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { logger, metrics, config } = options;
  // Fastify's own per-request lines are off: the operation observer writes one line per operation.
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    bodyLimit: config.limits.maxRequestBytes,
  });
  const apollo = createApolloServer({
    production: config.production,
    introspection: config.introspection,
    maxTaskIdsPerOperation: config.limits.maxTaskIdsPerOperation,
    exampleTaskIds: options.exampleTaskIds,
    logError: (message, error) => logger.error({ err: error }, message),
    plugins: [fastifyApolloDrainPlugin(app), operationObserverPlugin(logger, metrics)],
  });
  await apollo.start();

  // Fastify's own refusals (bad JSON, wrong content type, too large) in GraphQL's error shape.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      logger.error({ err: error }, "Unexpected error in the HTTP layer");
      return reply.code(500).send(errorBody("Unexpected error.", ErrorCode.INTERNAL_SERVER_ERROR));
    }
    return reply.code(status).send(errorBody(httpErrorMessage(error, config.limits.maxRequestBytes), ErrorCode.BAD_REQUEST));
  });
  let closing = false;
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // While draining, each answered request also closes its keep-alive connection, so that the
    // server can finish closing without waiting for clients to hang up.
    if (closing) reply.header("connection", "close");
  });
  await app.register(fastifyCors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, maxAge: 600 });

  app.get("/health", async () => ({ status: "ok" }));
  app.get("/ready", async (_request, reply) => {
    const report = await options.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));

  await app.register(async (graphql) => {
    const authenticate = createAuthenticator(config.auth);
    if (authenticate !== undefined) {
      graphql.addHook("onRequest", async (request, reply) => {
        // Sandbox's page itself (a browser GET of HTML) carries no credentials; queries always do.
        const landingPage = request.method === "GET" && !request.url.includes("query=") && String(request.headers.accept).includes("text/html");
        if (landingPage || request.method === "OPTIONS") return;
        const result = await authenticate(request.headers);
        if (!result.ok) return reply.code(401).send(errorBody(result.reason, ErrorCode.UNAUTHENTICATED));
      });
    }
    await graphql.register(fastifyApollo(apollo), {
      path: "/",
      context: async (request) =>
        createContext({ source: options.source, starter: options.starter, requestId: request.id, deadlineMs: config.limits.operationTimeoutMs }),
    });
  });

  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return {
    url: new URL(`http://${shownHost}:${port}/`),
    stop: async () => {
      closing = true;
      await app.close();
    },
  };
}

function httpErrorMessage(error: FastifyError, maxRequestBytes: number): string {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return "The request body is not valid JSON.";
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return "The request body is empty; send {\"query\": \"…\"} as JSON.";
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return `The request body is larger than the ${maxRequestBytes} bytes allowed.`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "Send GraphQL requests with content-type: application/json.";
    default:
      return error.message;
  }
}
