import type { Clock } from "../lib/Clock.js";
import type { Span } from "@opentelemetry/api";
import fastifyCors from "@fastify/cors";
import { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import type { KeyValueCache } from "@apollo/utils.keyvaluecache";
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";
import type { CallerRules } from "../callers/CallerRules.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { ServerObserver } from "./ServerObserver.js";
import type { TaskStarter } from "../resolvers/context.js";
import type { TaskWatcher } from "../subscriptions/TaskWatcher.js";
import { callerProfiles } from "./admission/callerProfiles.js";
import { buildSchema } from "./buildSchema.js";
import { createApolloServer } from "./createApolloServer.js";
import { createAuthenticator, type Authenticator } from "./createAuthenticator.js";
import type { ReadinessReport } from "./createReadinessCheck.js";
import { installDrain } from "./drain.js";
import { serveExplorerAssets } from "./explorer/graphiqlExplorer.js";
import { createHttpApp, requestIdOf } from "./http/createHttpApp.js";
import { graphqlRoute } from "./http/graphqlRoute.js";
import { opsRoutes } from "./http/opsRoutes.js";
import { installRefusals } from "./http/refusals.js";
import type { OperationLimits } from "./operationLimits.js";
import { operationsInFlight } from "./operationsInFlight.js";
import { auditReadsPlugin } from "./plugins/auditReadsPlugin.js";
import { operationObserverPlugin } from "./plugins/operationObserverPlugin.js";
import { overBudgetPlugin } from "./plugins/overBudgetPlugin.js";
import { persistedQueriesPlugin } from "./plugins/persistedQueriesPlugin.js";
import { rateLimitedStatusPlugin } from "./plugins/rateLimitedStatusPlugin.js";
import { unexpectedErrorLogPlugin } from "./plugins/unexpectedErrorLogPlugin.js";
import type { ServerSettings } from "./ServerSettings.js";
import { startSubscriptionServer } from "./ws/subscriptionServer.js";

export interface StartServerOptions {
  config: ServerSettings;
  /** Where loads go: the AppFabric client, directly or through the cross-operation batcher. */
  source: UserAccessTaskSource;
  /** Where the mutation goes: the AppFabric client. */
  starter: TaskStarter;
  /** Scopes, budgets and the audit trail, applied to every request's and connection's caller. */
  rules: CallerRules;
  logger: Logger;
  metrics: ServerObserver;
  readiness: () => Promise<ReadinessReport>;
  /** Task ids for Sandbox's ready-made example query (the emulator's demo ids). */
  exampleTaskIds?: readonly string[];
  /** Where automatic persisted queries are kept (Redis, for the fleet); Apollo's in-memory cache otherwise. */
  persistedQueries?: KeyValueCache<string>;
  /** Watches tasks for subscriptions (see `createWatcher`); the subscription server ends its subscriptions on close. */
  watcher: TaskWatcher;
  /** The clock of JWT checks; injected by tests. */
  now?: Clock;
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

/**
 * The HTTP server: GraphQL at `/` (the router's own route when the secret is set), `/health`, `/ready`
 * and `/metrics`, and subscriptions over WebSocket on the same port. In front of GraphQL: CORS from an
 * explicit allow-list, the connection bounds of `createHttpApp`, and authentication when configured
 * (in the GraphQL context, see `graphqlRoute`).
 */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { logger, metrics, config, rules } = options;
  const app = createHttpApp(config.limits, { logger, metrics });
  const authenticate = authenticatorFor(options);

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
  const apolloFor = async (limits: OperationLimits) => {
    const server = createApolloServer({
      schema,
      production: config.production,
      introspection: config.introspection,
      limits,
      exampleTaskIds: options.exampleTaskIds,
      graphiql: config.graphiql,
      persistedQueries: options.persistedQueries,
      plugins,
    });
    await server.start();
    return server;
  };
  const profiles = callerProfiles(config);
  const apollo = await apolloFor(profiles.client.operationLimits);
  const router =
    profiles.router === undefined
      ? undefined
      : { apollo: await apolloFor(profiles.router.operationLimits), secret: profiles.router.secret, maxRequestBytes: profiles.router.maxRequestBytes };

  installRefusals(app, { logger, metrics });
  await app.register(fastifyCors, { origin: config.corsOrigins.length > 0 ? [...config.corsOrigins] : false, maxAge: 600 });
  opsRoutes(app, { metrics, readiness: options.readiness });
  if (config.introspection && config.graphiql !== undefined) await serveExplorerAssets(app, config.graphiql);
  const { source, starter, startSpan } = options;
  const operationTimeoutMs = config.limits.operationTimeoutMs;
  await app.register((graphql) =>
    graphqlRoute(graphql, {
      apollo,
      router,
      authenticate,
      trustedDocuments: config.trustedDocuments,
      source,
      starter,
      rules,
      operationTimeoutMs,
      startSpan,
      logger,
      metrics,
    }),
  );

  const subscriptions = startSubscriptionServer(app.server, {
    schema,
    watcher: options.watcher,
    source,
    rules,
    maxUnauthenticated: config.subscriptions.maxUnauthenticatedConnections,
    maxPendingBytes: config.subscriptions.maxPendingBytes,
    client: profiles.client.subscriptions,
    ...(profiles.router === undefined ? {} : { router: { ...profiles.router.subscriptions, secret: profiles.router.secret } }),
    authenticate,
    corsOrigins: config.corsOrigins,
    production: config.production,
    now: options.now,
    requestIdOf,
    logger,
    metrics,
  });
  const stop = installDrain(app, { subscriptions, inFlight, graceMs: config.limits.shutdownGraceMs, logger });

  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as { port: number };
  const shownHost = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return { url: new URL(`http://${shownHost}:${port}/`), stop };
}

/** Authentication as configured (undefined: none), its key-set failures logged and counted; a warning when production has none. */
function authenticatorFor({ config, logger, metrics, now }: StartServerOptions): Authenticator | undefined {
  const authenticate = createAuthenticator(config.auth, {
    now,
    observer: {
      jwksFetchFailed: (reason) => {
        metrics.jwksFetchFailed(reason);
        logger.warn(
          { reason },
          "The JWKS could not be fetched; JWTs are checked against the last key set fetched, if any, and no fetch is retried for a while",
        );
      },
    },
  });
  if (authenticate === undefined && config.production) {
    logger.warn(
      "Production without authentication: set ROUTER_SECRET and/or AUTH_JWKS_URL (or AUTH_JWT_PUBLIC_KEY) unless a gateway in front authenticates every request.",
    );
  }
  return authenticate;
}
