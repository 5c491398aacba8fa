import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";

export interface DrainParts {
  /** The WebSocket server: its connections are not requests, and Fastify's close would wait for them for the whole grace period. */
  subscriptions: { close(): Promise<void> };
  /** Operations under way: an operation whose connection the grace period closed still writes its line. */
  inFlight: { settled(withinMs: number): Promise<void> };
  /** How long in-flight requests may finish before every connection still open is closed. */
  graceMs: number;
  logger: Logger;
}

/** How long operations cut off by the grace period may take to write their lines (their callers are gone). */
const SETTLE_MS = 1_000;

/**
 * SIGTERM's drain, installed on `app`: returns the `stop` that stops taking requests, lets in-flight
 * ones finish, closes every connection still open after the grace period, and resolves once all is
 * closed. While draining, each answered request also closes its keep-alive connection, so that the
 * server can finish closing without waiting for clients to hang up.
 */
export function installDrain(app: FastifyInstance, parts: DrainParts): () => Promise<void> {
  let closing = false;
  app.addHook("onSend", async (_request, reply) => {
    if (closing) reply.header("connection", "close");
  });
  return async () => {
    closing = true;
    const subscriptionsClosed = parts.subscriptions.close();
    const closed = app.close();
    const grace = setTimeout(() => {
      parts.logger.warn({ graceMs: parts.graceMs }, "Shutdown grace period over: closing the connections still open");
      app.server.closeAllConnections();
    }, parts.graceMs);
    try {
      await Promise.all([closed, subscriptionsClosed]);
    } finally {
      clearTimeout(grace);
    }
    await parts.inFlight.settled(SETTLE_MS);
  };
}
