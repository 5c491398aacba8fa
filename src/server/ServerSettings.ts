import type { TrustedDocuments } from "./admission/trustedDocuments.js";
import type { BuiltExplorer } from "./explorer/graphiqlExplorer.js";
import type { AuthSettings } from "./createAuthenticator.js";

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
  /** GraphiQL, as built, instead of Sandbox (LANDING_PAGE=graphiql); only with introspection. */
  graphiql?: BuiltExplorer;
  limits: ServerLimits;
  /** Browser origins allowed by CORS; empty: no cross-origin browser access. */
  corsOrigins: readonly string[];
  auth: AuthSettings;
  subscriptions: SubscriptionSettings;
  /** PERSISTED_DOCUMENTS: what direct callers may run; undefined: anything. */
  trustedDocuments?: TrustedDocuments;
}
