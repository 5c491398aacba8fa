import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import Fastify, { LogController } from "fastify";
import type { Logger } from "pino";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskLoader.js";
import type { Metrics } from "../observability/Metrics.js";
import { operationObserverPlugin } from "../observability/operationObserverPlugin.js";
import { createApolloServer, createContext, type ApolloServerOptions } from "./createApolloServer.js";
import type { ReadinessReport } from "./createReadinessCheck.js";

export interface StartServerOptions extends Omit<ApolloServerOptions, "logError" | "plugins"> {
  /** Where loads go: the AppFabric client. */
  source: UserAccessTaskSource;
  /** 0 picks a free port. */
  port: number;
  host: string;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<ReadinessReport>;
}

export interface RunningServer {
  /** The GraphQL endpoint (also Sandbox, outside production). */
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

/**
 * The HTTP server: Fastify (the fastest of the integrations measured, see `npm run bench:http`)
 * serving GraphQL at `/`, plus `/health`, `/ready` and `/metrics`.
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { logger, metrics } = options;
  // Fastify's own per-request lines are off: the operation observer writes one line per operation.
  const app = Fastify({ loggerInstance: logger, logController: new LogController({ disableRequestLogging: true }), genReqId: requestIdOf });
  const apollo = createApolloServer({
    ...options,
    logError: (message, error) => logger.error({ err: error }, message),
    plugins: [fastifyApolloDrainPlugin(app), operationObserverPlugin(logger, metrics)],
  });
  await apollo.start();

  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.get("/health", async () => ({ status: "ok" }));
  app.get("/ready", async (_request, reply) => {
    const report = await options.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  await app.register(fastifyApollo(apollo), { path: "/", context: async (request) => createContext(options.source, request.id) });

  await app.listen({ port: options.port, host: options.host });
  const { port } = app.server.address() as { port: number };
  const shownHost = options.host === "0.0.0.0" || options.host === "::" ? "localhost" : options.host;
  return { url: new URL(`http://${shownHost}:${port}/`), stop: () => app.close() };
}
