import type { Clock } from "../../lib/Clock.js";
import type { IncomingMessage } from "node:http";
import type { GraphQLSchema } from "graphql";
import type { Logger } from "pino";
import type { CallerRules } from "../../callers/CallerRules.js";
import type { UserAccessTaskSource } from "../../loaders/UserAccessTaskSource.js";
import type { ServerObserver } from "../ServerObserver.js";
import type { TaskWatcher } from "../../subscriptions/TaskWatcher.js";
import type { SubscriptionProfile } from "../admission/callerProfiles.js";
import type { Authenticator } from "../createAuthenticator.js";

export interface SubscriptionServerOptions {
  schema: GraphQLSchema;
  watcher: TaskWatcher;
  /** For the (unused) loader of a subscription's context: resolvers are typed for one. */
  source: UserAccessTaskSource;
  /** Scopes, the watcher's share per caller, the audit trail. */
  rules: CallerRules;
  /** Connections at once that have not completed `connection_init` (see `HandshakeOptions`). */
  maxUnauthenticated: number;
  client: SubscriptionProfile;
  /** Connections whose handshake carries the router secret. */
  router?: SubscriptionProfile & { secret: string };
  /**
   * The most all connections together may hold for their clients (WEBSOCKET_MAX_PENDING_BYTES): a
   * message that would pass it cuts its connection off, as one over a connection's own bound does.
   */
  maxPendingBytes: number;
  authenticate: Authenticator | undefined;
  /** Browser origins allowed to open a connection (CORS_ORIGINS); a handshake without `Origin` is not a browser's. */
  corsOrigins: readonly string[];
  /** Error messages without field suggestions. */
  production: boolean;
  /** The clock of JWT expiry; injected by tests. */
  now?: Clock;
  /** A connection's id, from the handshake's `x-request-id` or made up. */
  requestIdOf: (request: IncomingMessage) => string;
  logger: Logger;
  metrics: ServerObserver;
}

export interface SubscriptionServer {
  /** Closes every connection (1001, so clients reconnect elsewhere) and stops the watcher. */
  close(): Promise<void>;
}
