import { fastifyApolloHandler } from "@as-integrations/fastify";
import type { ApolloServer } from "@apollo/server";
import type { IncomingHttpHeaders } from "node:http";
import type { Socket } from "node:net";
import type { Span } from "@opentelemetry/api";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import Negotiator from "negotiator";
import type { Logger } from "pino";
import type { ServerObserver } from "../ServerObserver.js";
import { callerGoneError, notAcceptableError, notAuthenticatedError } from "../../errors/requestErrors.js";
import type { UserAccessTaskSource } from "../../loaders/UserAccessTaskSource.js";
import type { GraphQLContext, TaskStarter } from "../../resolvers/context.js";
import { logRefusalNow } from "./refusals.js";
import { trustedDocumentsHook } from "./trustedDocumentsHook.js";
import type { TrustedDocuments } from "../admission/trustedDocuments.js";
import { addressCaller, type Caller } from "../../callers/Caller.js";
import type { CallerRules } from "../../callers/CallerRules.js";
import { isRouterRequest, type Authenticator } from "../createAuthenticator.js";
import { createOperation, type Operation } from "../createOperation.js";

export interface GraphQLRouteOptions {
  /** Runs direct callers' operations, under their limits. */
  apollo: ApolloServer<GraphQLContext>;
  /**
   * Runs the operations of requests that carry the router secret, under a router's limits (its own
   * Apollo Server: limits are validation rules, and Apollo caches a validated document per server).
   */
  router?: { apollo: ApolloServer<GraphQLContext>; secret: string; maxRequestBytes: number };
  /** Undefined: authentication is off. */
  authenticate: Authenticator | undefined;
  /** PERSISTED_DOCUMENTS, on the direct callers' route only; undefined: off. */
  trustedDocuments?: TrustedDocuments;
  source: UserAccessTaskSource;
  starter: TaskStarter;
  /** Scopes, budgets and the audit trail, applied to each request's caller. */
  rules: CallerRules;
  operationTimeoutMs: number;
  /** Starts each operation's span; undefined: tracing is off. */
  startSpan?: (headers: IncomingHttpHeaders) => Span;
  logger: Logger;
  metrics: ServerObserver;
}

/** What a GraphQL answer can be sent as; Apollo checks the same list, but only after running the operation. */
const RESPONSE_TYPES = ["application/json", "application/graphql-response+json"];

/**
 * GraphQL at `/`. Every request that Apollo is about to execute first passes the `context` function,
 * so that is where it is authenticated, as in Apollo's subgraph template: whatever the method,
 * encoding or persisted-query form, no operation runs without it. Apollo serves Sandbox's page (a GET
 * that prefers HTML, when the landing page is on) before calling `context`, and only that page.
 *
 * The context function also owns the operation's end: when the response closes, its deadline timer
 * is cleared, and if the caller hung up before the answer, its AppFabric work is abandoned.
 */
export async function graphqlRoute(app: FastifyInstance, options: GraphQLRouteOptions): Promise<void> {
  const { authenticate, logger } = options;
  const context = async (request: FastifyRequest, reply: FastifyReply): Promise<GraphQLContext> => {
    // Who calls: what authenticated the request, else (authentication off) the client's address.
    let caller: Caller = addressCaller(request.ip);
    if (authenticate !== undefined) {
      const result = await authenticate(request.headers);
      if (!result.ok) {
        request.refusal = result.status === 503 ? "authentication_unavailable" : "unauthenticated";
        logger.debug({ requestId: request.id, check: result.reason }, "authentication failed");
        throw notAuthenticatedError(result.message, result.status);
      }
      caller = result.caller;
    }
    // One turn of the event loop before anything runs: a request read from a socket's buffer gets
    // here within one callback, and a caller who hung up meanwhile is only seen on a later one.
    // Under a backlog, that spares running operations nobody will read.
    await new Promise((resolve) => setImmediate(resolve));
    const socket = request.raw.socket;
    if (socket.destroyed || socket.readableEnded) {
      // Ended or reset by the caller; or closed by this service after an earlier pipelined answer.
      logRefusalNow(request, 499, socket.readableEnded || socket.errored !== null ? "caller_gone" : "connection_closed", options);
      throw callerGoneError();
    }
    if (!acceptsGraphQLResponse(request.headers.accept)) {
      request.refusal = "not_acceptable";
      throw notAcceptableError(RESPONSE_TYPES);
    }
    const operation = createOperation({
      source: options.source,
      starter: options.starter,
      requestId: request.id,
      caller,
      rules: options.rules,
      deadlineMs: options.operationTimeoutMs,
      span: options.startSpan?.(request.headers),
    });
    request.operation = operation;
    endWithTheResponse(request, reply, operation);
    return operation.context;
  };
  const method = ["GET", "POST", "OPTIONS"];
  const { router } = options;
  const clientRoute = {
    method,
    url: "/",
    handler: fastifyApolloHandler(options.apollo, { context }),
    ...(options.trustedDocuments === undefined ? {} : { preHandler: trustedDocumentsHook(options.trustedDocuments) }),
  };
  if (router === undefined) {
    app.route(clientRoute);
    return;
  }
  // Fastify picks the route by who sends the request, before the body is read, so that each route has
  // its own body limit. The router's route is only for requests with the right secret; every other
  // request is a direct caller's (and is then refused by `authenticate` for lack of the secret).
  app.addConstraintStrategy(callerStrategy(router.secret));
  app.route({ ...clientRoute, constraints: { caller: "client" } });
  app.route({
    method,
    url: "/",
    constraints: { caller: "router" },
    bodyLimit: router.maxRequestBytes,
    handler: fastifyApolloHandler(router.apollo, { context }),
  });
}

type CallerStrategy = Parameters<FastifyInstance["addConstraintStrategy"]>[0];
type RouteHandler = Parameters<ReturnType<CallerStrategy["storage"]>["set"]>[1];

/** Routes a request by whether it carries the router secret: `router` or `client`. */
function callerStrategy(secret: string): CallerStrategy {
  const isRouter = isRouterRequest(secret);
  return {
    name: "caller",
    // Only the two GraphQL routes carry the constraint; /health, /ready and /metrics match whatever is derived.
    mustMatchWhenDerived: false,
    storage() {
      const handlers = new Map<unknown, RouteHandler>();
      return { get: (caller) => handlers.get(caller) ?? null, set: (caller, handler) => void handlers.set(caller, handler) };
    },
    deriveConstraint: (request) => (isRouter(request.headers) ? "router" : "client"),
  };
}

/**
 * Ends the operation when its response closes, and abandons its AppFabric work as soon as the caller
 * is gone: the connection closed, or the caller ended its side of it. No HTTP client half-closes while
 * it waits for an answer (browsers, undici, curl and proxies do not), so an ended request side means a
 * caller who gave up, even when the request had already been read from the socket's buffer.
 */
function endWithTheResponse(request: FastifyRequest, reply: FastifyReply, operation: Operation): void {
  const socket = request.raw.socket;
  const gone = () => {
    if (!reply.raw.writableFinished) operation.abandon();
  };
  // The context function has just checked that the caller is still there, so the response is open.
  const unwatch = watchForHangUp(socket, gone);
  reply.raw.once("close", () => {
    unwatch();
    gone();
    operation.end();
  });
}

/**
 * Operations waiting on each socket. One pair of listeners per socket, however many requests a client
 * pipelines on it, rather than a pair per operation.
 */
const waitingOn = new WeakMap<Socket, Set<() => void>>();

function watchForHangUp(socket: Socket, onGone: () => void): () => void {
  let waiting = waitingOn.get(socket);
  if (waiting === undefined) {
    const callbacks = new Set<() => void>();
    const hangUp = () => [...callbacks].forEach((callback) => callback());
    socket.once("end", hangUp);
    socket.once("close", hangUp);
    waitingOn.set(socket, callbacks);
    waiting = callbacks;
  }
  waiting.add(onGone);
  return waiting.delete.bind(waiting, onGone);
}

function acceptsGraphQLResponse(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === "") return true;
  return new Negotiator({ headers: { accept } }).mediaType(RESPONSE_TYPES) !== undefined;
}
