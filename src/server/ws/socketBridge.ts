import { CloseCode, type Server as ProtocolServer } from "graphql-ws";
import type { Logger } from "pino";
import type { RawData, WebSocket } from "ws";
import { withoutRedaction } from "../../observability/createLogger.js";
import type { RefusalReason } from "../../observability/refusalReasons.js";
import type { Connection } from "./Connection.js";

/** How often an open connection is pinged; one that has not answered the previous ping by then is cut. */
export const KEEP_ALIVE_MS = 12_000;
/**
 * The most a connection may hold for its client: every message handed to its socket and not yet
 * written out (each subscription's latest answer waiting behind a client that does not read, and
 * what the socket buffers). A client that stops reading is cut off past it, instead of its answers
 * piling up in this process's memory.
 */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
const PONG = JSON.stringify({ type: "pong" });

/** Bytes of a connection's messages handed to its socket and not yet written out, and how to cut it off. */
interface Outbox {
  held: number;
  /** Closes the connection and gives back at once what it held (its socket's writes may never call back). */
  cut: (bound: "connection" | "process") => void;
}

/** What every open connection holds for its client, against the bound on them all (WEBSOCKET_MAX_PENDING_BYTES). */
export class OutboxPool {
  /** Bytes handed to every connection's socket and not yet written out. */
  pendingBytes = 0;
  readonly open = new Set<Outbox>();

  constructor(readonly maxPendingBytes: number) {}

  /** The connection holding the most for its client, if it holds anything. */
  furthestBehind(): Outbox | undefined {
    let furthest: Outbox | undefined;
    for (const outbox of this.open) if (outbox.held > (furthest?.held ?? 0)) furthest = outbox;
    return furthest;
  }
}

export interface SocketBridgeOptions {
  pool: OutboxPool;
  logger: Logger;
  /** Told of each connection cut off for not reading. */
  refused: (reason: RefusalReason) => void;
  /** The socket has closed; called before graphql-ws is told, so that its subscriptions end as `closed`. */
  onClose: () => void;
}

/**
 * graphql-ws's bridge to a `ws` socket (instead of graphql-ws's `useServer` starter, which logs to the
 * console): keep-alive pings, text messages only, protocol errors closed as the protocol says, and
 * what the connection holds for a client that does not read bounded per connection and per process.
 */
export function bridgeSocket(socket: WebSocket, connection: Connection, protocol: ProtocolServer<Connection>, options: SocketBridgeOptions): void {
  const { logger } = options;
  // A message over the size limit, or a broken frame: ws closes the connection (1009, 1002); nothing more to do.
  socket.on("error", (error: Error & { code?: string }) => logger.debug({ requestId: connection.id, code: error.code }, "WebSocket protocol error"));
  const ping = keepAlive(socket);
  const send = boundedSend(socket, connection, options);
  const closed = protocol.opened(
    {
      protocol: socket.protocol,
      send: send.send,
      close: (code, reason) => socket.close(code, reason),
      // The protocol's pong may echo the ping's payload; this one does not, so a ping costs a few bytes.
      onPing: () => send.send(PONG),
      onMessage: (handle) =>
        socket.on("message", (data: RawData, isBinary: boolean) => {
          if (isBinary) return socket.close(CloseCode.BadRequest, "Binary messages are not part of the protocol");
          if (send.tooFarBehind()) return;
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
    send.release();
    clearInterval(ping);
    options.onClose();
    void closed(code, reason.toString());
  });
}

/** Pings every KEEP_ALIVE_MS; a socket that did not answer the previous ping is cut. */
function keepAlive(socket: WebSocket): NodeJS.Timeout {
  let alive = true;
  socket.on("pong", () => (alive = true));
  const ping = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, KEEP_ALIVE_MS);
  ping.unref();
  return ping;
}

/**
 * A connection's sends, counted in its outbox: its messages handed to the socket and not yet written
 * out, and the sends waiting on them. graphql-ws awaits each send with the subscription's result still
 * reachable (its whole object graph, larger than the message), so a send must settle when the
 * connection ends, whether or not the socket ever calls back.
 */
function boundedSend(socket: WebSocket, connection: Connection, options: SocketBridgeOptions) {
  const { pool } = options;
  const lineLog = withoutRedaction(options.logger);
  const waiting = new Set<() => void>();
  const outbox: Outbox = {
    held: 0,
    cut: (bound) => {
      lineLog.info({ requestId: connection.id, heldBytes: outbox.held, bound }, "WebSocket closed: the client does not read");
      options.refused("slow_reader");
      release();
      socket.terminate();
    },
  };
  pool.open.add(outbox);
  /** Gives back what the connection held and settles its sends (once: a cut connection closes later). */
  const release = () => {
    if (!pool.open.delete(outbox)) return;
    pool.pendingBytes -= outbox.held;
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
    if (!pool.open.has(outbox)) return true;
    if (outbox.held > 0 && outbox.held + adding > MAX_BUFFERED_BYTES) {
      outbox.cut("connection");
      return true;
    }
    while (pool.pendingBytes + adding > pool.maxPendingBytes) {
      const furthest = pool.furthestBehind() ?? outbox;
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
      pool.pendingBytes += bytes;
      const settle = () => {
        waiting.delete(settle);
        resolve();
      };
      waiting.add(settle);
      socket.send(data, () => {
        // After a cut or the close, what it held has already been given back.
        if (waiting.has(settle)) {
          outbox.held -= bytes;
          pool.pendingBytes -= bytes;
        }
        settle();
      });
    });
  return { send, release, tooFarBehind };
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  return Buffer.from(data as ArrayBuffer).toString("utf8");
}
