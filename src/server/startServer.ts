import { randomUUID } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import type { Span } from "@opentelemetry/api";
import fastifyCors from "@fastify/cors";
import { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import Fastify, { LogController, type FastifyBaseLogger } from "fastify";
import type { Logger } from "pino";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { Metrics } from "../observability/Metrics.js";
import { operationObserverPlugin } from "./plugins/operationObserverPlugin.js";
import { unexpectedErrorLogPlugin } from "./plugins/unexpectedErrorLogPlugin.js";
import type { TaskStarter } from "../resolvers/context.js";
import { buildSchema } from "./buildSchema.js";
import { createApolloServer, documentRules } from "./createApolloServer.js";
import { createAuthenticator, type AuthSettings } from "./createAuthenticator.js";
import type { ReadinessReport } from "./createReadinessCheck.js";
import { CLIENT_MAX_ALIASES, type OperationLimits } from "./operationLimits.js";
import { operationsInFlight } from "./operationsInFlight.js";
import { graphqlRoute } from "./http/graphqlRoute.js";
import { opsRoutes } from "./http/opsRoutes.js";
import { clientErrorHandler, closeTimedOutConnection, installRefusals } from "./http/refusals.js";
import { startSubscriptionServer, type SubscriptionProfile } from "./ws/subscriptionServer.js";
import type { KeyValueCache } from "@apollo/utils.keyvaluecache";
import { TaskWatcher } from "../subscriptions/TaskWatcher.js";
import type { CallerRules } from "../callers/CallerRules.js";
import { auditReadsPlugin } from "./plugins/auditReadsPlugin.js";
import { rateLimitedStatusPlugin } from "./plugins/rateLimitedStatusPlugin.js";
import { overBudgetPlugin } from "./plugins/overBudgetPlugin.js";
import { persistedQueriesPlugin } from "./plugins/persistedQueriesPlugin.js";

/** What bounds one request and one connection. */
export interface ServerLimits {
  /** The most one GraphQL operation may take, retries included. */
  operationTimeoutMs: number;
  /** Task ids one operation may list (duplicates included). */
  maxTaskIdsPerOperation: number;
  /** Largest request body accepted. */
  maxRequestBytes: number;
  /**
   * The limits of requests that carry the router secret (when one is set): a router's query plans
   * merge parallel fetches into one request with an alias each, and repeat entity references.
   */
  router: { maxTaskIdsPerOperation: number; maxRequestBytes: number; maxAliases: number };
  /** The most a request (headers and body) may take to arrive; a stalled upload is cut off then. */
  requestTimeoutMs: number;
  /** Open connections the server keeps at once; more are refused by the socket layer. */
  maxConnections: number;
  /** On SIGTERM, how long in-flight requests may finish before every connection is closed. */
  shutdownGraceMs: number;
}

/** Subscriptions over WebSocket (see `startSubscriptionServer` and `TaskWatcher`). */
export interface SubscriptionSettings {
  /** Time between two polls of the watched tasks (SUBSCRIPTION_WATCH_INTERVAL_MS). */
  watchIntervalMs: number;
  /** Subscriptions one direct caller's connection may run at once. */
  maxPerConnection: number;
  /** The same for a connection that carries the router secret (a router multiplexes its clients' subscriptions). */
  routerMaxPerConnection: number;
  /** Subscriptions at once in the process. */
  maxActive: number;
  /** Distinct task ids watched at once in the process. */
  maxWatchedIds: number;
  /** Distinct task ids one caller's subscriptions may watch at once. */
  maxWatchedIdsPerCaller: number;
  /** WebSocket connections at once that have not completed `connection_init`; more handshakes are refused (503). */
  maxUnauthenticatedConnections: number;
  /** Bytes all WebSocket connections together may hold for clients that have not read them; past it, the connection sending is cut. */
  maxPendingBytes: number;
  /** The longest one subscription lasts. */
  maxLifetimeMs: number;
}

export interface ServerSettings {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** The interface to listen on. */
  host: string;
  /** No stack traces in answers, and a warning when nothing authenticates requests. */
  production: boolean;
  /** Introspection and Sandbox. */
  introspection: boolean;
  limits: ServerLimits;
  /** Browser origins allowed by CORS; empty: no cross-origin browser access. */
  corsOrigins: readonly string[];
  auth: AuthSettings;
  subscriptions: SubscriptionSettings;
}

export interface StartServerOptions {
  config: ServerSettings;
  /** Where loads go: the AppFabric client, directly or through the cross-operation batcher. */
  source: UserAccessTaskSource;
  /** Where the mutation goes: the AppFabric client. */
  starter: TaskStarter;
  /** Scopes, budgets and the audit trail, applied to every request's and connection's caller. */
  rules: CallerRules;
  logger: Logger;
  metrics: Metrics;
  readiness: () => Promise<ReadinessReport>;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** Where automatic persisted queries are kept (Redis, for the fleet); Apollo's in-memory cache otherwise. */
  persistedQueries?: KeyValueCache<string>;
  /** The clock of JWT checks; injected by tests. */
  now?: () => number;
  /** Starts each GraphQL operation's span (tracing on). */
  startSpan?: (headers: IncomingHttpHeaders) => Span;
}

export interface RunningServer {
  /** The GraphQL endpoint (also Sandbox, where enabled). */
  url: URL;
  /**
   * Stops taking requests and lets in-flight ones finish; after `limits.shutdownGraceMs`, closes every
   * connection still open (a stalled upload, a slow client), then resolves.
   */
  stop(): Promise<void>;
}

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
 * The HTTP server: Fastify (the fastest of the integrations measured, see `npm run bench:http`)
 * serving GraphQL at `/`, plus `/health`, `/ready` and `/metrics`. In front of GraphQL: CORS from an
 * explicit allow-list, body size and arrival-time limits, a bound on connections, and authentication
 * when configured (in the GraphQL context, see `graphqlRoute`).
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { logger, metrics, config } = options;
  const { limits } = config;
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
  });
  app.server.maxConnections = limits.maxConnections;
  app.server.on("timeout", closeTimedOutConnection(app.server, { logger, metrics }));

  const authenticate = createAuthenticator(config.auth, {
    now: options.now,
    onFetchFailed: (reason) => {
      metrics.jwksFetchFailed(reason);
      logger.warn({ reason }, "The JWKS could not be fetched; JWTs are checked against the last key set fetched, if any, and no fetch is retried for a while");
    },
  });
  if (authenticate === undefined && config.production) {
    logger.warn(
      "Production without authentication: set ROUTER_SECRET and/or AUTH_JWKS_URL (or AUTH_JWT_PUBLIC_KEY) unless a gateway in front authenticates every request.",
    );
  }

  const { rules } = options;
  // One schema for both Apollo servers and the subscriptions, telling routers what is checked here.
  const schema = buildSchema({ authenticated: config.auth.jwt !== undefined, scopes: config.auth.scopes ?? {} });
  const inFlight = operationsInFlight();
  const plugins = [
    fastifyApolloDrainPlugin(app),
    rateLimitedStatusPlugin(),
    overBudgetPlugin(rules.budgets),
    persistedQueriesPlugin(rules.budgets),
    operationObserverPlugin(logger, metrics),
    unexpectedErrorLogPlugin(logger),
    inFlight.plugin,
    auditReadsPlugin(schema, rules.audit),
  ];
  const apolloFor = async (operationLimits: OperationLimits) => {
    const server = createApolloServer({
      schema,
      production: config.production,
      introspection: config.introspection,
      limits: operationLimits,
      exampleTaskIds: options.exampleTaskIds,
      persistedQueries: options.persistedQueries,
      plugins,
    });
    await server.start();
    return server;
  };
  const clientTaskIds = limits.maxTaskIdsPerOperation;
  const clientLimits: OperationLimits = { maxTaskIds: clientTaskIds, maxRootFieldTaskIds: clientTaskIds, maxAliases: CLIENT_MAX_ALIASES };
  const routerLimits: OperationLimits = {
    maxTaskIds: limits.router.maxTaskIdsPerOperation,
    maxRootFieldTaskIds: clientTaskIds,
    maxAliases: limits.router.maxAliases,
  };
  const apollo = await apolloFor(clientLimits);
  const { routerSecret } = config.auth;
  const router =
    routerSecret === undefined
      ? undefined
      : {
          apollo: await apolloFor(routerLimits),
          secret: routerSecret,
          maxRequestBytes: limits.router.maxRequestBytes,
        };

  installRefusals(app, { logger, metrics });
  let closing = false;
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // While draining, each answered request also closes its keep-alive connection, so that the
    // server can finish closing without waiting for clients to hang up.
    if (closing) reply.header("connection", "close");
  });
  await app.register(fastifyCors, { origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false, maxAge: 600 });
  opsRoutes(app, { metrics, readiness: options.readiness });
  await app.register((graphql) =>
    graphqlRoute(graphql, {
      apollo,
      router,
      authenticate,
      source: options.source,
      starter: options.starter,
      rules,
      operationTimeoutMs: limits.operationTimeoutMs,
      startSpan: options.startSpan,
      logger,
      metrics,
    }),
  );

  const watcher = new TaskWatcher({
    source: options.source,
    intervalMs: config.subscriptions.watchIntervalMs,
    maxWatchedIds: config.subscriptions.maxWatchedIds,
    maxWatchedIdsPerCaller: config.subscriptions.maxWatchedIdsPerCaller,
    onShareRefused: () => rules.budgets.refused("watched_ids"),
    maxSubscriptions: config.subscriptions.maxActive,
    maxLifetimeMs: config.subscriptions.maxLifetimeMs,
    onPoll: (ids) => metrics.watcherPolled(ids),
  });
  metrics.observeWatcher(() => watcher.size.watchedIds);
  const subscriptions = startSubscriptionServer(app.server, {
    schema,
    watcher,
    source: options.source,
    rules,
    maxUnauthenticated: config.subscriptions.maxUnauthenticatedConnections,
    maxPendingBytes: config.subscriptions.maxPendingBytes,
    client: subscriptionProfile(clientLimits, limits.maxRequestBytes, config.subscriptions.maxPerConnection, config.production),
    ...(routerSecret === undefined
      ? {}
      : {
          router: {
            ...subscriptionProfile(routerLimits, limits.router.maxRequestBytes, config.subscriptions.routerMaxPerConnection, config.production),
            secret: routerSecret,
          },
        }),
    authenticate,
    corsOrigins: config.corsOrigins,
    production: config.production,
    now: options.now,
    requestIdOf,
    logger,
    metrics,
  });

  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return {
    url: new URL(`http://${shownHost}:${port}/`),
    stop: async () => {
      closing = true;
      // WebSocket connections are not requests: Fastify's close would wait for them for the whole grace period.
      const subscriptionsClosed = subscriptions.close();
      const closed = app.close();
      const grace = setTimeout(() => {
        logger.warn({ graceMs: limits.shutdownGraceMs }, "Shutdown grace period over: closing the connections still open");
        app.server.closeAllConnections();
      }, limits.shutdownGraceMs);
      try {
        await Promise.all([closed, subscriptionsClosed]);
      } finally {
        clearTimeout(grace);
      }
      // Operations whose connections the grace period closed end quickly (their callers are gone):
      // let them finish, so that each still writes its line, for at most a second.
      await inFlight.settled(1_000);
    },
  };
}

function subscriptionProfile(
  limits: OperationLimits,
  maxMessageBytes: number,
  maxSubscriptionsPerConnection: number,
  production: boolean,
): SubscriptionProfile {
  const { validationRules, maxTokens } = documentRules(limits, production);
  return { limits, rules: { validationRules, maxTokens }, maxMessageBytes, maxSubscriptionsPerConnection };
}
