import type { IncomingHttpHeaders, IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { ApolloServerErrorCode } from "@apollo/server/errors";
import {
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  specifiedRules,
  subscribe as graphqlSubscribe,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from "graphql";
import { CloseCode, handleProtocols, makeServer, type Context, type SubscribePayload } from "graphql-ws";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import type { Logger } from "pino";
import { ErrorCode } from "../../errors/ErrorCode.js";
import { toGraphQLError } from "../../errors/toGraphQLError.js";
import { MAX_TASK_IDS_PER_BATCH } from "../../appfabric/constants.js";
import { formatError, isExpected } from "../../errors/formatError.js";
import { withoutRedaction } from "../../observability/createLogger.js";
import type { Metrics } from "../../observability/Metrics.js";
import { loggableOperationName } from "../../observability/operationName.js";
import { refusalReasonOf, type RefusalReason } from "../../observability/refusalReasons.js";
import type { TaskSubscription, TaskWatcher } from "../../subscriptions/TaskWatcher.js";
import type { UserAccessTaskSource } from "../../loaders/UserAccessTaskSource.js";
import { UserAccessTaskLoader } from "../../loaders/UserAccessTaskLoader.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import { addressCaller, type Caller } from "../../callers/Caller.js";
import type { CallerRules } from "../../callers/CallerRules.js";
import { personalDataReader } from "../../callers/personalData.js";
import { authorize } from "../createOperation.js";
import { isRouterRequest, JWT_CLOCK_TOLERANCE_SECONDS, type Authenticator } from "../createAuthenticator.js";
import type { OperationLimits } from "../operationLimits.js";
import { checkOperationCost } from "../operationLimitsPlugin.js";
import { releaseOnceSerialized } from "./releaseOnceSerialized.js";

/** What a connection of one kind of caller may do. */
export interface SubscriptionProfile {
  limits: OperationLimits;
  /** The document rules of HTTP requests of the same caller (see `documentRules`). */
  rules: { validationRules: NonNullable<Parameters<typeof validate>[2]>; maxTokens: number };
  /** Largest message accepted (the request body limit of the same caller); a larger one closes the connection (1009). */
  maxMessageBytes: number;
  /** Subscriptions one connection may run at once. */
  maxSubscriptionsPerConnection: number;
}

export interface SubscriptionServerOptions {
  schema: GraphQLSchema;
  watcher: TaskWatcher;
  /** For the (unused) loader of a subscription's context: resolvers are typed for one. */
  source: UserAccessTaskSource;
  /** Scopes, the watcher's share per caller, the audit trail. */
  rules: CallerRules;
  /**
   * Connections at once that have not completed `connection_init` (credentials are only checked
   * then): past it, handshakes are refused (503) at once, so that sockets that never authenticate
   * cannot take the connections authenticated callers and `/health` need.
   */
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
  now?: () => number;
  /** A connection's id, from the handshake's `x-request-id` or made up. */
  requestIdOf: (request: IncomingMessage) => string;
  logger: Logger;
  metrics: Metrics;
}

export interface SubscriptionServer {
  /** Closes every connection (1001, so clients reconnect elsewhere) and stops the watcher. */
  close(): Promise<void>;
}

/** How often an open connection is pinged; one that has not answered the previous ping by then is cut. */
export const KEEP_ALIVE_MS = 12_000;
/** A connection with no subscription for this long is closed (1000): it costs a socket and holds nothing. */
export const IDLE_TIMEOUT_MS = 60_000;
/**
 * The most a connection may hold for its client: every message handed to its socket and not yet
 * written out (each subscription's latest answer waiting behind a client that does not read, and
 * what the socket buffers). A client that stops reading is cut off past it, instead of its answers
 * piling up in this process's memory.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** The longest a timer may wait (Node's limit); a JWT that lives longer is re-checked in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;
const PONG = JSON.stringify({ type: "pong" });

/** One subscription's record, for its log lines. */
interface SubscriptionRecord {
  startedAt: number;
  operationName: string | null;
  taskIds: number;
  watch?: TaskSubscription;
}

/** Bytes of a connection's messages handed to its socket and not yet written out, and how to cut it off. */
interface Outbox {
  held: number;
  /** Closes the connection and gives back at once what it held (its socket's writes may never call back). */
  cut: (bound: "connection" | "process") => void;
}

/** What this service keeps per connection (graphql-ws's `extra`). */
interface Connection {
  socket: WebSocket;
  request: IncomingMessage;
  id: string;
  profile: SubscriptionProfile;
  subscriptions: Map<string, SubscriptionRecord>;
  /** Who the connection is for, once `connection_init` has authenticated it. */
  caller?: Caller;
  /** Gives back its place among the connections not yet through `connection_init` (once; later calls do nothing). */
  authenticated: () => void;
  /** Set once the socket has closed: subscriptions ended by that are `closed`, not `cancelled`. */
  closed: boolean;
  cancelExpiry?: () => void;
  /** Closes the connection once it has had no subscription for IDLE_TIMEOUT_MS. */
  idle?: NodeJS.Timeout;
}

type ConnectionContext = Context<Record<string, unknown>, Connection>;

/**
 * Subscriptions over the GraphQL over WebSocket protocol (graphql-ws), on the HTTP server's port and
 * path (`/`). graphql-ws runs the protocol; this file is its bridge to `ws` (instead of graphql-ws's
 * `useServer` starter, which logs to the console) and everything around it that HTTP requests get from
 * Fastify and Apollo:
 *
 * - the handshake: only `/`, and a browser's only from an origin in CORS_ORIGINS (browsers do not apply
 *   CORS to WebSockets, so without this any site could use a visitor's credentials here);
 * - authentication at `connection_init`, over the handshake's headers and the init payload
 *   (`authorization`, `router-authorization`: browsers cannot set headers on a WebSocket), and again
 *   when a JWT expires, which closes the connection (4403) unless it is still valid;
 * - the same document rules and limits as HTTP, per caller; only subscriptions (queries and mutations
 *   go over HTTP, where their own limits and logs are);
 * - limits on subscriptions per connection, a message size, a ping every 12 s, idle connections closed;
 * - one log line per subscription start and end, errors formatted as over HTTP.
 */
export function startSubscriptionServer(server: Server, options: SubscriptionServerOptions): SubscriptionServer {
  const { logger, metrics, watcher } = options;
  const lineLog = withoutRedaction(logger);
  const now = options.now ?? Date.now;
  const isRouter = options.router === undefined ? undefined : isRouterRequest(options.router.secret);
  const sockets = new Map<SubscriptionProfile, WebSocketServer>();
  const socketServerFor = (profile: SubscriptionProfile) => {
    let wss = sockets.get(profile);
    if (wss === undefined) {
      wss = new WebSocketServer({ noServer: true, maxPayload: profile.maxMessageBytes, handleProtocols, perMessageDeflate: false });
      sockets.set(profile, wss);
    }
    return wss;
  };
  let closing = false;
  /** Handshakes and connections not yet through `connection_init`. */
  let unauthenticated = 0;
  /** Bytes handed to every connection's socket and not yet written out. */
  let pendingBytes = 0;
  metrics.observeWebSocketPending(() => pendingBytes);
  /** What each open connection holds for its client, and how to cut it off. */
  const outboxes = new Set<Outbox>();
  /** The connection holding the most for its client, if it holds anything. */
  const furthestBehind = () => {
    let furthest: Outbox | undefined;
    for (const outbox of outboxes) if (outbox.held > (furthest?.held ?? 0)) furthest = outbox;
    return furthest;
  };
  const readsPersonalData = personalDataReader(options.schema);

  const refuseHandshake = (socket: Duplex, status: 403 | 404 | 503, reason: RefusalReason, message: string) => {
    metrics.requestRefused(reason);
    logger.debug({ reason, status }, "WebSocket handshake refused");
    const text = { 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" }[status];
    const head = `HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}`;
    socket.end(`${head}\r\n\r\n${message}`, () => socket.destroy());
  };

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const path = (request.url ?? "").split("?", 1)[0];
    if (path !== "/") return refuseHandshake(socket, 404, "websocket_path", "Subscriptions are served at / only.\n");
    if (closing) return refuseHandshake(socket, 503, "shutting_down", "The service is shutting down.\n");
    const origin = request.headers.origin;
    if (origin !== undefined && !options.corsOrigins.includes(origin)) {
      return refuseHandshake(socket, 403, "websocket_origin", "This origin may not open a WebSocket here (CORS_ORIGINS).\n");
    }
    if (unauthenticated >= options.maxUnauthenticated) return void admitWhenFull(request, socket, head);
    unauthenticated += 1;
    let counted = true;
    const authenticated = () => {
      if (counted) unauthenticated -= 1;
      counted = false;
    };
    // The raw socket closes whatever happens to the handshake or the connection.
    socket.once("close", authenticated);
    upgrade(request, socket, head, authenticated);
  };

  /**
   * While the bound on unauthenticated connections is full, a handshake is let in only if its own
   * headers already carry credentials that pass (a router's, a server-side client's): it is then no
   * longer waiting to authenticate. Browsers cannot set headers and are refused (503) until room is made.
   */
  const admitWhenFull = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = () =>
      refuseHandshake(socket, 503, "websocket_unauthenticated", "Too many connections are waiting to authenticate (connection_init); try again shortly.\n");
    const { authenticate } = options;
    const headers = request.headers;
    if (authenticate === undefined || (headers.authorization === undefined && headers["router-authorization"] === undefined)) return refuse();
    const result = await authenticate(headers);
    if (!result.ok || socket.destroyed || closing) return refuse();
    upgrade(request, socket, head, () => undefined);
  };

  /** Completes a handshake with the profile its headers choose (the router's with the secret). */
  const upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer, authenticated: () => void) => {
    const profile = options.router !== undefined && isRouter?.(request.headers) === true ? options.router : options.client;
    // ws answers a handshake it cannot accept (no key, wrong version, no graphql-transport-ws subprotocol) itself.
    socketServerFor(profile).handleUpgrade(request, socket, head, (ws) => onConnection(ws, request, profile, authenticated));
  };

  const graphqlWs = makeServer<Record<string, unknown>, Connection>({
    schema: options.schema,
    subscribe: async (args) => {
      const result = await graphqlSubscribe(args);
      return Symbol.asyncIterator in result ? releaseOnceSerialized(result) : result;
    },
    onConnect: async (ctx) => {
      const connection = ctx.extra;
      if (options.authenticate === undefined) {
        connection.caller = addressCaller(connection.request.socket.remoteAddress);
        connection.authenticated();
        return true;
      }
      const headers = authHeaders(connection.request.headers, ctx.connectionParams);
      const result = await options.authenticate(headers);
      if (!result.ok) {
        metrics.requestRefused(result.status === 503 ? "authentication_unavailable" : "unauthenticated");
        logger.debug({ requestId: connection.id, check: result.reason }, "WebSocket authentication failed");
        // 4403 is retried by graphql-ws clients (with fresh connection params); 1013 asks to try again later.
        connection.socket.close(result.status === 503 ? 1013 : CloseCode.Forbidden, closeReason(result.message));
        return false;
      }
      connection.caller = result.caller;
      connection.authenticated();
      if (result.expiresAtMs !== undefined) watchExpiry(connection, headers, result.expiresAtMs);
      return true;
    },
    onSubscribe: (ctx, id, payload) => subscribe(ctx, id, payload),
    onNext: (_ctx, _id, _payload, _args, result) => {
      return result.errors === undefined ? undefined : { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) };
    },
    onError: (ctx, _id, _payload, errors) => {
      for (const error of errors)
        if (!isExpected(error)) logger.error({ requestId: ctx.extra.id, err: error.originalError ?? error }, "Unexpected error in a subscription");
      return errors.map((error) => maskSuggestions(formatError(error.toJSON(), error), options.production));
    },
    onComplete: (ctx, id) => ended(ctx.extra, id),
  });

  const subscribe = (ctx: ConnectionContext, id: string, payload: SubscribePayload) => {
    const connection = ctx.extra;
    const { profile } = connection;
    const refuse = (errors: GraphQLError[], reason?: RefusalReason) => {
      const code = errors[0]?.extensions["code"];
      const why = reason ?? refusalReasonOf(400, typeof code === "string" ? code : undefined);
      metrics.requestRefused(why);
      lineLog.info({ requestId: connection.id, reason: why }, "subscription refused");
      return errors;
    };
    // graphql-ws forgets an id as soon as the client completes it, even while that subscription is still
    // being set up; a new subscription under the same id would then take its place and the first one
    // would never be stopped. This service keeps each id until its subscription has ended.
    if (connection.subscriptions.has(id)) {
      connection.socket.close(CloseCode.SubscriberAlreadyExists, "Subscriber for this id already exists");
      return [requestError("A subscription with this id is still running.")];
    }
    if (connection.subscriptions.size >= profile.maxSubscriptionsPerConnection) {
      return refuse(
        [
          new GraphQLError(`This connection already runs ${profile.maxSubscriptionsPerConnection} subscriptions, the most it may. Nothing was subscribed.`, {
            extensions: { code: ErrorCode.BAD_REQUEST, retryable: false },
          }),
        ],
        "too_many_subscriptions",
      );
    }
    let document: DocumentNode;
    try {
      document = parse(payload.query, { maxTokens: profile.rules.maxTokens });
    } catch (error) {
      const message = error instanceof GraphQLError ? error.message : "The query could not be parsed.";
      return refuse([requestError(message, ApolloServerErrorCode.GRAPHQL_PARSE_FAILED, error)]);
    }
    const operation = getOperationAST(document, payload.operationName);
    if (operation === null || operation === undefined) {
      return refuse([requestError("Name the operation to run (operationName): the document has none, or more than one, by that name.")]);
    }
    if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
      return refuse([requestError("Only subscriptions are served over WebSocket; send queries and mutations over HTTP to the same URL.")]);
    }
    // Before validation: graphql-js 16 throws (in validation, then in `subscribe`) on a conditional
    // root field instead of reporting it; the spec's newer editions forbid it.
    if (hasConditionalRootField(operation.selectionSet, document)) {
      return refuse([
        requestError(
          "A subscription's root field may not be skipped or included conditionally (@skip, @include).",
          ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
        ),
      ]);
    }
    const invalid = validate(options.schema, document, [...specifiedRules, ...profile.rules.validationRules]);
    if (invalid.length > 0) return refuse(invalid.map((error) => requestError(error.message, ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED, error)));
    try {
      checkOperationCost(profile.limits, operation, document, payload.variables ?? {});
    } catch (error) {
      if (error instanceof GraphQLError) return refuse([error]);
      throw error;
    }
    const record: SubscriptionRecord = {
      startedAt: performance.now(),
      operationName: loggableOperationName(operation.name?.value ?? payload.operationName),
      taskIds: 0,
    };
    connection.subscriptions.set(id, record);
    metrics.subscriptionStarted();
    clearIdle(connection);
    // graphql-ws runs onSubscribe only after onConnect has accepted the connection.
    const caller = connection.caller ?? addressCaller(undefined);
    const contextValue: GraphQLContext = {
      requestId: connection.id,
      caller,
      authorize: (action) => authorize(caller, action, options.rules),
      userAccessTasks: new UserAccessTaskLoader(options.source, { caller: caller.key }),
      startUserAccessTasks: () => Promise.reject(requestError("Start tasks over HTTP.")),
      log: { written: false, callerGone: false },
      watchUserAccessTasks: async (ids) => {
        // The ids nobody watches yet are asked of AppFabric at once, for this caller: its task-id
        // budget pays for them, as over HTTP (the watcher's later polls serve everyone and are not charged).
        try {
          for (let left = watcher.unwatched(ids); left > 0; left -= MAX_TASK_IDS_PER_BATCH) {
            await options.rules.budgets.takeTaskIds(caller.key, Math.min(left, MAX_TASK_IDS_PER_BATCH));
          }
        } catch (error) {
          throw toGraphQLError(error);
        }
        record.taskIds = ids.length;
        record.watch = watcher.subscribe(ids, caller.key);
        if (ids.length > 0 && readsPersonalData(document)) {
          options.rules.audit.read({ requestId: connection.id, caller, taskIds: ids.length, operationName: record.operationName, via: "websocket" });
        }
        // Closed with its connection, whatever graphql-ws does with it.
        if (connection.closed) void record.watch.events.return();
        return record.watch.events;
      },
    };
    lineLog.info({ requestId: connection.id, operationName: record.operationName }, "subscription started");
    return { schema: options.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
  };

  const ended = (connection: Connection, id: string) => {
    const record = connection.subscriptions.get(id);
    if (record === undefined) return;
    connection.subscriptions.delete(id);
    const events = record.watch?.sent ?? 0;
    const watched = record.watch?.outcome ?? "error";
    const outcome = watched === "cancelled" && connection.closed ? "closed" : watched;
    metrics.subscriptionEnded(outcome, events);
    lineLog.info(
      {
        requestId: connection.id,
        operationName: record.operationName,
        durationMs: Math.round(performance.now() - record.startedAt),
        events,
        taskIds: record.taskIds,
        outcome,
      },
      "subscription ended",
    );
    if (connection.subscriptions.size === 0) armIdle(connection);
  };

  /** Re-checks the connection's credentials when its JWT expires; closes it (4403) unless they still pass. */
  const watchExpiry = (connection: Connection, headers: Record<string, string | string[] | undefined>, expiresAtMs: number) => {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs + JWT_CLOCK_TOLERANCE_SECONDS * 1000 - now()) + 1);
    const timer = setTimeout(() => {
      void options.authenticate?.(headers).then((result) => {
        if (connection.closed) return;
        if (result.ok && result.expiresAtMs !== undefined) return watchExpiry(connection, headers, result.expiresAtMs);
        if (result.ok) return;
        metrics.requestRefused("credentials_expired");
        lineLog.info({ requestId: connection.id, check: result.reason }, "WebSocket closed: its credentials expired");
        connection.socket.close(CloseCode.Forbidden, closeReason(result.message));
      });
    }, delay);
    timer.unref();
    connection.cancelExpiry = () => clearTimeout(timer);
  };

  const armIdle = (connection: Connection) => {
    clearIdle(connection);
    connection.idle = setTimeout(() => connection.socket.close(1000, "Idle: no subscription for a while"), IDLE_TIMEOUT_MS);
    connection.idle.unref();
  };
  const clearIdle = (connection: Connection) => clearTimeout(connection.idle);

  const onConnection = (socket: WebSocket, request: IncomingMessage, profile: SubscriptionProfile, authenticated: () => void) => {
    const connection: Connection = { socket, request, id: options.requestIdOf(request), profile, subscriptions: new Map(), authenticated, closed: false };
    metrics.webSocketsChanged(1);
    // A message over the size limit, or a broken frame: ws closes the connection (1009, 1002); nothing more to do.
    socket.on("error", (error: Error & { code?: string }) => logger.debug({ requestId: connection.id, code: error.code }, "WebSocket protocol error"));
    let alive = true;
    socket.on("pong", () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return socket.terminate();
      alive = false;
      socket.ping();
    }, KEEP_ALIVE_MS);
    ping.unref();
    armIdle(connection);
    /**
     * What this connection holds for its client: its messages handed to the socket and not yet written
     * out, and the sends waiting on them. graphql-ws awaits each send with the subscription's result
     * still reachable (its whole object graph, larger than the message), so a send must settle when the
     * connection ends, whether or not the socket ever calls back.
     */
    const waiting = new Set<() => void>();
    const outbox: Outbox = {
      held: 0,
      cut: (bound: "connection" | "process") => {
        lineLog.info({ requestId: connection.id, heldBytes: outbox.held, bound }, "WebSocket closed: the client does not read");
        metrics.requestRefused("slow_reader");
        release();
        socket.terminate();
      },
    };
    outboxes.add(outbox);
    /** Gives back what the connection held and settles its sends (once: a cut connection closes later). */
    const release = () => {
      if (!outboxes.delete(outbox)) return;
      pendingBytes -= outbox.held;
      outbox.held = 0;
      for (const settle of waiting) settle();
      waiting.clear();
    };
    /**
     * A client that does not read what it is sent is cut off before what is held for it passes its
     * bound (a message goes when nothing is held, however large). Past the process's bound for all
     * connections together, the connections furthest behind are cut until the message fits, whichever
     * is sending. `adding`: the message about to be sent. True when this connection was cut.
     */
    const tooFarBehind = (adding = 0) => {
      if (!outboxes.has(outbox)) return true;
      if (outbox.held > 0 && outbox.held + adding > MAX_BUFFERED_BYTES) {
        outbox.cut("connection");
        return true;
      }
      while (pendingBytes + adding > options.maxPendingBytes) {
        const furthest = furthestBehind() ?? outbox;
        furthest.cut("process");
        if (furthest === outbox) return true;
      }
      return false;
    };
    // A write that fails means the connection is gone (the client reset it): its close ends everything.
    const send = (data: string) =>
      new Promise<void>((resolve) => {
        const bytes = Buffer.byteLength(data);
        if (socket.readyState !== socket.OPEN || tooFarBehind(bytes)) return resolve();
        outbox.held += bytes;
        pendingBytes += bytes;
        const settle = () => {
          waiting.delete(settle);
          resolve();
        };
        waiting.add(settle);
        socket.send(data, () => {
          // After a cut or the close, what it held has already been given back.
          if (waiting.has(settle)) {
            outbox.held -= bytes;
            pendingBytes -= bytes;
          }
          settle();
        });
      });
    const closed = graphqlWs.opened(
      {
        protocol: socket.protocol,
        send,
        close: (code, reason) => socket.close(code, reason),
        // The protocol's pong may echo the ping's payload; this one does not, so a ping costs a few bytes.
        onPing: () => send(PONG),
        onMessage: (handle) =>
          socket.on("message", (data: RawData, isBinary: boolean) => {
            if (isBinary) return socket.close(CloseCode.BadRequest, "Binary messages are not part of the protocol");
            if (tooFarBehind()) return;
            handle(rawText(data)).catch((error: unknown) => {
              // graphql-ws throws for a message of a type only a server sends: the client's mistake.
              const clientMistake = error instanceof Error && error.message.startsWith("Unexpected message of type");
              if (clientMistake) logger.debug({ requestId: connection.id }, "WebSocket message of a type clients do not send");
              else logger.error({ requestId: connection.id, err: error }, "Unexpected error handling a WebSocket message");
              socket.close(
                clientMistake ? CloseCode.BadRequest : CloseCode.InternalServerError,
                clientMistake ? "Invalid message received" : "Internal server error",
              );
            });
          }),
      },
      connection,
    );
    socket.once("close", (code: number, reason: Buffer) => {
      connection.closed = true;
      release();
      for (const record of connection.subscriptions.values()) void record.watch?.events.return();
      clearInterval(ping);
      clearIdle(connection);
      connection.cancelExpiry?.();
      metrics.webSocketsChanged(-1);
      void closed(code, reason.toString());
    });
  };

  server.on("upgrade", onUpgrade);
  return {
    close: async () => {
      closing = true;
      server.off("upgrade", onUpgrade);
      for (const wss of sockets.values()) {
        for (const socket of wss.clients) socket.close(1001, "Going away");
      }
      watcher.close();
      // A client that does not answer the close frame is cut off after a second.
      await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
      for (const wss of sockets.values()) {
        for (const socket of wss.clients) socket.terminate();
        wss.close();
      }
    },
  };
}

/**
 * The credentials a connection presents: the handshake's headers, with `authorization` and
 * `router-authorization` from the `connection_init` payload (any letter case) taking their place when
 * given, as strings.
 */
export function authHeaders(
  handshake: IncomingHttpHeaders,
  params: Readonly<Record<string, unknown>> | undefined,
): Record<string, string | string[] | undefined> {
  const headers: Record<string, string | string[] | undefined> = { ...handshake };
  if (params === undefined) return headers;
  const nested = params["headers"];
  for (const source of [typeof nested === "object" && nested !== null ? (nested as Record<string, unknown>) : {}, params]) {
    for (const [key, value] of Object.entries(source)) {
      const name = key.toLowerCase();
      if ((name === "authorization" || name === "router-authorization") && typeof value === "string") headers[name] = value;
    }
  }
  return headers;
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}

/** Whether a root selection (or a fragment holding one) carries `@skip` or `@include`. */
function hasConditionalRootField(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): boolean {
  for (const selection of selectionSet.selections) {
    if (selection.directives?.some((directive) => directive.name.value === "skip" || directive.name.value === "include")) return true;
    if (selection.kind === Kind.INLINE_FRAGMENT && hasConditionalRootField(selection.selectionSet, document, seen)) return true;
    if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION && hasConditionalRootField(fragment.selectionSet, document, seen)) return true;
    }
  }
  return false;
}

/** A close frame's reason is at most 123 bytes. */
function closeReason(message: string): string {
  const bytes = Buffer.from(message);
  return bytes.length <= 123
    ? message
    : `${bytes
        .subarray(0, 120)
        .toString("utf8")
        .replace(/\uFFFD$/, "")}...`;
}

/** A refusal of the request itself, coded as Apollo codes the same refusal over HTTP. */
function requestError(message: string, code: string = ErrorCode.BAD_REQUEST, source?: unknown): GraphQLError {
  const located = source instanceof GraphQLError ? { nodes: source.nodes, source: source.source, positions: source.positions } : {};
  return new GraphQLError(message, { ...located, extensions: { code } });
}

/** In production, "Did you mean …?" is hidden, as graphql-armor does for HTTP requests. */
function maskSuggestions<T extends { message: string }>(error: T, production: boolean): T {
  return production ? { ...error, message: error.message.replace(/Did you mean ".+"\?/g, "[Suggestion hidden]").trim() } : error;
}
