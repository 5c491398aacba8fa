import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { GraphQLError, subscribe as graphqlSubscribe } from "graphql";
import { CloseCode, handleProtocols, makeServer, type Server as ProtocolServer, type SubscribePayload } from "graphql-ws";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { ErrorCode } from "../../errors/ErrorCode.js";
import { formatError, isExpected } from "../../errors/formatError.js";
import { requestRefusedError } from "../../errors/requestErrors.js";
import { withoutRedaction } from "../../observability/createLogger.js";
import { loggableOperationName } from "../../observability/operationName.js";
import { refusalReasonOf, type RefusalReason } from "../../observability/refusalReasons.js";
import { addressCaller } from "../../callers/Caller.js";
import { personalDataReader } from "../../callers/personalData.js";
import { isRouterRequest } from "../createAuthenticator.js";
import { admitSubscription } from "../admission/admitSubscription.js";
import type { SubscriptionProfile } from "../admission/callerProfiles.js";
import type { Connection, ConnectionContext, SubscriptionRecord } from "./Connection.js";
import { connectionAuthenticator } from "./connectionAuth.js";
import { handshakeHandler } from "./handshake.js";
import { releaseOnceSerialized } from "./releaseOnceSerialized.js";
import { bridgeSocket, OutboxPool } from "./socketBridge.js";
import { subscriptionContext } from "./subscriptionContext.js";
import { armIdle, maskSuggestions } from "./connectionHelpers.js";
import type { SubscriptionServer, SubscriptionServerOptions } from "./SubscriptionServerOptions.js";

/**
 * Subscriptions over the GraphQL over WebSocket protocol (graphql-ws), on the HTTP server's port and
 * path (`/`), split the way graphql-ws splits itself:
 *
 * - the handshake (`handshake.ts`): path, origin, the bound on connections not yet authenticated;
 * - the socket bridge (`socketBridge.ts`): graphql-ws over `ws`, pings, bounded sends;
 * - connection authentication (`connectionAuth.ts`) at `connection_init` and when a JWT expires;
 * - here, the `makeServer` wiring: each subscription admitted with HTTP's document rules and limits
 *   for its caller (`admitSubscription`), at most so many per connection, idle connections closed,
 *   one log line per subscription start and end, errors formatted as over HTTP.
 */
export function startSubscriptionServer(server: Server, options: SubscriptionServerOptions): SubscriptionServer {
  return new WebSocketSubscriptions(server, options);
}

class WebSocketSubscriptions implements SubscriptionServer {
  readonly #options: SubscriptionServerOptions;
  readonly #server: Server;
  readonly #lineLog: Logger;
  readonly #sockets = new Map<SubscriptionProfile, WebSocketServer>();
  readonly #pool: OutboxPool;
  readonly #protocol: ProtocolServer<Connection>;
  readonly #isRouter: ((headers: IncomingMessage["headers"]) => boolean) | undefined;
  readonly #readsPersonalData: ReturnType<typeof personalDataReader>;
  readonly #onUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void;
  readonly #refused: (reason: RefusalReason) => void;
  #closing = false;

  constructor(server: Server, options: SubscriptionServerOptions) {
    const { logger, metrics } = options;
    this.#options = options;
    this.#server = server;
    this.#lineLog = withoutRedaction(logger);
    this.#refused = (reason) => metrics.requestRefused(reason);
    this.#pool = new OutboxPool(options.maxPendingBytes);
    metrics.observeWebSocketPending(() => this.#pool.pendingBytes);
    this.#isRouter = options.router === undefined ? undefined : isRouterRequest(options.router.secret);
    this.#readsPersonalData = personalDataReader(options.schema);
    this.#protocol = this.#makeProtocolServer();
    this.#onUpgrade = handshakeHandler({
      corsOrigins: options.corsOrigins,
      maxUnauthenticated: options.maxUnauthenticated,
      authenticate: options.authenticate,
      closing: () => this.#closing,
      logger,
      refused: this.#refused,
      upgrade: (request, socket, head, authenticated) => this.#upgrade(request, socket, head, authenticated),
    });
    server.on("upgrade", this.#onUpgrade);
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#server.off("upgrade", this.#onUpgrade);
    for (const wss of this.#sockets.values()) {
      for (const socket of wss.clients) socket.close(1001, "Going away");
    }
    this.#options.watcher.close();
    // A client that does not answer the close frame is cut off after a second.
    await new Promise((resolve) => setTimeout(resolve, 1_000).unref());
    for (const wss of this.#sockets.values()) {
      for (const socket of wss.clients) socket.terminate();
      wss.close();
    }
  }

  #makeProtocolServer(): ProtocolServer<Connection> {
    const { logger, production } = this.#options;
    return makeServer<Record<string, unknown>, Connection>({
      schema: this.#options.schema,
      subscribe: async (args) => {
        const result = await graphqlSubscribe(args);
        return Symbol.asyncIterator in result ? releaseOnceSerialized(result) : result;
      },
      onConnect: connectionAuthenticator({ authenticate: this.#options.authenticate, now: this.#options.now ?? Date.now, logger, refused: this.#refused }),
      onSubscribe: (ctx, id, payload) => this.#subscribe(ctx, id, payload),
      onNext: (_ctx, _id, _payload, _args, result) => {
        return result.errors === undefined ? undefined : { ...result, errors: result.errors.map((error) => formatError(error.toJSON(), error)) };
      },
      onError: (ctx, _id, _payload, errors) => {
        for (const error of errors)
          if (!isExpected(error)) logger.error({ requestId: ctx.extra.id, err: error.originalError ?? error }, "Unexpected error in a subscription");
        return errors.map((error) => maskSuggestions(formatError(error.toJSON(), error), production));
      },
      onComplete: (ctx, id) => this.#ended(ctx.extra, id),
    });
  }

  /** Completes a handshake with the profile its headers choose (the router's with the secret). */
  #upgrade(request: IncomingMessage, socket: Duplex, head: Buffer, authenticated: () => void): void {
    const { router, client } = this.#options;
    const profile = router !== undefined && this.#isRouter?.(request.headers) === true ? router : client;
    let wss = this.#sockets.get(profile);
    if (wss === undefined) {
      wss = new WebSocketServer({ noServer: true, maxPayload: profile.maxMessageBytes, handleProtocols, perMessageDeflate: false });
      this.#sockets.set(profile, wss);
    }
    // ws answers a handshake it cannot accept (no key, wrong version, no graphql-transport-ws subprotocol) itself.
    wss.handleUpgrade(request, socket, head, (ws) => this.#connected(ws, request, profile, authenticated));
  }

  #connected(socket: WebSocket, request: IncomingMessage, profile: SubscriptionProfile, authenticated: () => void): void {
    const connection: Connection = { socket, request, id: this.#options.requestIdOf(request), profile, subscriptions: new Map(), authenticated, closed: false };
    const { metrics, logger } = this.#options;
    metrics.webSocketsChanged(1);
    armIdle(connection);
    bridgeSocket(socket, connection, this.#protocol, {
      pool: this.#pool,
      logger,
      refused: this.#refused,
      onClose: () => {
        connection.closed = true;
        for (const record of connection.subscriptions.values()) void record.watch?.events.return();
        clearTimeout(connection.idle);
        connection.cancelExpiry?.();
        metrics.webSocketsChanged(-1);
      },
    });
  }

  #subscribe(ctx: ConnectionContext, id: string, payload: SubscribePayload) {
    const connection = ctx.extra;
    const { profile } = connection;
    const refuse = (errors: GraphQLError[], reason?: RefusalReason) => {
      const code = errors[0]?.extensions["code"];
      const why = reason ?? refusalReasonOf(400, typeof code === "string" ? code : undefined);
      this.#refused(why);
      this.#lineLog.info({ requestId: connection.id, reason: why }, "subscription refused");
      return errors;
    };
    // graphql-ws forgets an id as soon as the client completes it, even while that subscription is still
    // being set up; a new subscription under the same id would then take its place and the first one
    // would never be stopped. This service keeps each id until its subscription has ended.
    if (connection.subscriptions.has(id)) {
      connection.socket.close(CloseCode.SubscriberAlreadyExists, "Subscriber for this id already exists");
      return [requestRefusedError("A subscription with this id is still running.")];
    }
    if (connection.subscriptions.size >= profile.maxSubscriptionsPerConnection) {
      const message = `This connection already runs ${profile.maxSubscriptionsPerConnection} subscriptions, the most it may. Nothing was subscribed.`;
      return refuse([new GraphQLError(message, { extensions: { code: ErrorCode.BAD_REQUEST, retryable: false } })], "too_many_subscriptions");
    }
    const admission = admitSubscription(this.#options.schema, profile, payload);
    if (!admission.ok) return refuse(admission.errors);
    const { document, operation } = admission;
    const record: SubscriptionRecord = {
      startedAt: performance.now(),
      operationName: loggableOperationName(operation.name?.value ?? payload.operationName),
      taskIds: 0,
    };
    connection.subscriptions.set(id, record);
    this.#options.metrics.subscriptionStarted();
    clearTimeout(connection.idle);
    // graphql-ws runs onSubscribe only after onConnect has accepted the connection.
    const caller = connection.caller ?? addressCaller(undefined);
    const contextValue = subscriptionContext(connection, caller, record, document, { ...this.#options, readsPersonalData: this.#readsPersonalData });
    this.#lineLog.info({ requestId: connection.id, operationName: record.operationName }, "subscription started");
    return { schema: this.#options.schema, document, operationName: payload.operationName, variableValues: payload.variables, contextValue };
  }

  #ended(connection: Connection, id: string): void {
    const record = connection.subscriptions.get(id);
    if (record === undefined) return;
    connection.subscriptions.delete(id);
    const events = record.watch?.sent ?? 0;
    const watched = record.watch?.outcome ?? "error";
    const outcome = watched === "cancelled" && connection.closed ? "closed" : watched;
    this.#options.metrics.subscriptionEnded(outcome, events);
    const durationMs = Math.round(performance.now() - record.startedAt);
    this.#lineLog.info(
      { requestId: connection.id, operationName: record.operationName, durationMs, events, taskIds: record.taskIds, outcome },
      "subscription ended",
    );
    if (connection.subscriptions.size === 0) armIdle(connection);
  }
}
