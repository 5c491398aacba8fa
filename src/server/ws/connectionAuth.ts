import type { Clock } from "../../lib/Clock.js";
import type { IncomingHttpHeaders } from "node:http";
import { CloseCode } from "graphql-ws";
import type { Logger } from "pino";
import { addressCaller } from "../../callers/Caller.js";
import { withoutRedaction } from "../../observability/createLogger.js";
import type { RefusalReason } from "../../observability/refusalReasons.js";
import { JWT_CLOCK_TOLERANCE_SECONDS, type Authenticator } from "../createAuthenticator.js";
import type { Connection, ConnectionContext } from "./Connection.js";

export interface ConnectionAuthOptions {
  /** Undefined: authentication is off, and a connection's caller is its address. */
  authenticate: Authenticator | undefined;
  /** The clock of JWT expiry (ms since the epoch). */
  now: Clock;
  logger: Logger;
  /** Told of each connection refused or closed for its credentials. */
  refused: (reason: RefusalReason) => void;
}

/** The longest a timer may wait (Node's limit); a JWT that lives longer is re-checked in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * graphql-ws's `onConnect`: authenticates a connection at `connection_init`, over the handshake's
 * headers and the init payload (`authorization`, `router-authorization`: browsers cannot set headers on
 * a WebSocket), and again when its JWT expires, which closes it (4403) unless its credentials still pass.
 */
export function connectionAuthenticator(options: ConnectionAuthOptions): (ctx: ConnectionContext) => Promise<boolean> {
  const { authenticate, logger, refused } = options;
  const lineLog = withoutRedaction(logger);

  const watchExpiry = (connection: Connection, headers: Record<string, string | string[] | undefined>, expiresAtMs: number) => {
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, expiresAtMs + JWT_CLOCK_TOLERANCE_SECONDS * 1000 - options.now()) + 1);
    const timer = setTimeout(() => {
      void authenticate?.(headers).then((result) => {
        if (connection.closed) return;
        if (result.ok && result.expiresAtMs !== undefined) return watchExpiry(connection, headers, result.expiresAtMs);
        if (result.ok) return;
        refused("credentials_expired");
        lineLog.info({ requestId: connection.id, check: result.reason }, "WebSocket closed: its credentials expired");
        connection.socket.close(CloseCode.Forbidden, closeReason(result.message));
      });
    }, delay);
    timer.unref();
    connection.cancelExpiry = () => clearTimeout(timer);
  };

  return async (ctx) => {
    const connection = ctx.extra;
    if (authenticate === undefined) {
      connection.caller = addressCaller(connection.request.socket.remoteAddress);
      connection.authenticated();
      return true;
    }
    const headers = authHeaders(connection.request.headers, ctx.connectionParams);
    const result = await authenticate(headers);
    if (!result.ok) {
      refused(result.status === 503 ? "authentication_unavailable" : "unauthenticated");
      logger.debug({ requestId: connection.id, check: result.reason }, "WebSocket authentication failed");
      // 4403 is retried by graphql-ws clients (with fresh connection params); 1013 asks to try again later.
      connection.socket.close(result.status === 503 ? 1013 : CloseCode.Forbidden, closeReason(result.message));
      return false;
    }
    connection.caller = result.caller;
    connection.authenticated();
    if (result.expiresAtMs !== undefined) watchExpiry(connection, headers, result.expiresAtMs);
    return true;
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
