import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import type { RefusalReason } from "../../observability/refusalReasons.js";
import type { Authenticator } from "../createAuthenticator.js";

export interface HandshakeOptions {
  /** Browser origins allowed to open a connection (CORS_ORIGINS); a handshake without `Origin` is not a browser's. */
  corsOrigins: readonly string[];
  /**
   * Connections at once that have not completed `connection_init` (credentials are only checked
   * then): past it, handshakes are refused (503) at once, so that sockets that never authenticate
   * cannot take the connections authenticated callers and `/health` need.
   */
  maxUnauthenticated: number;
  authenticate: Authenticator | undefined;
  /** True once the service is shutting down: new handshakes are refused (503). */
  closing: () => boolean;
  logger: Logger;
  /** Told of each handshake refused. */
  refused: (reason: RefusalReason) => void;
  /** Completes an admitted handshake; `authenticated` gives back its place among the unauthenticated connections. */
  upgrade: (request: IncomingMessage, socket: Duplex, head: Buffer, authenticated: () => void) => void;
}

const STATUS_TEXT = { 403: "Forbidden", 404: "Not Found", 503: "Service Unavailable" } as const;

/**
 * The HTTP server's `upgrade` listener: admits a WebSocket handshake at `/` only, and a browser's only
 * from an origin in CORS_ORIGINS or from the service's own pages (browsers do not apply CORS to
 * WebSockets, so without this any site could use a visitor's credentials here), within the bound on
 * connections not yet authenticated.
 */
export function handshakeHandler(options: HandshakeOptions): (request: IncomingMessage, socket: Duplex, head: Buffer) => void {
  let unauthenticated = 0;

  const refuse = (socket: Duplex, status: keyof typeof STATUS_TEXT, reason: RefusalReason, message: string) => {
    options.refused(reason);
    options.logger.debug({ reason, status }, "WebSocket handshake refused");
    const head = `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}`;
    socket.end(`${head}\r\n\r\n${message}`, () => socket.destroy());
  };

  /**
   * While the bound on unauthenticated connections is full, a handshake is let in only if its own
   * headers already carry credentials that pass (a router's, a server-side client's): it is then no
   * longer waiting to authenticate. Browsers cannot set headers and are refused (503) until room is made.
   */
  const admitWhenFull = async (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuseFull = () =>
      refuse(socket, 503, "websocket_unauthenticated", "Too many connections are waiting to authenticate (connection_init); try again shortly.\n");
    const { authenticate } = options;
    const headers = request.headers;
    if (authenticate === undefined || (headers.authorization === undefined && headers["router-authorization"] === undefined)) return refuseFull();
    const result = await authenticate(headers);
    if (!result.ok || socket.destroyed || options.closing()) return refuseFull();
    options.upgrade(request, socket, head, () => undefined);
  };

  return (request, socket, head) => {
    socket.on("error", () => socket.destroy());
    const path = (request.url ?? "").split("?", 1)[0];
    if (path !== "/") return refuse(socket, 404, "websocket_path", "Subscriptions are served at / only.\n");
    if (options.closing()) return refuse(socket, 503, "shutting_down", "The service is shutting down.\n");
    const origin = request.headers.origin;
    if (origin !== undefined && !options.corsOrigins.includes(origin) && !sameOrigin(origin, request.headers.host)) {
      return refuse(socket, 403, "websocket_origin", "This origin may not open a WebSocket here (CORS_ORIGINS).\n");
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
    options.upgrade(request, socket, head, authenticated);
  };
}

/**
 * A page the service served itself (GraphiQL) opens its WebSocket from the origin it was loaded
 * from: the handshake's own host. Browsers let such a page send HTTP requests without CORS as well.
 */
function sameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined || !URL.canParse(origin)) return false;
  const page = new URL(origin);
  const addressed = `${page.protocol}//${host}`;
  return URL.canParse(addressed) && new URL(addressed).host === page.host;
}
