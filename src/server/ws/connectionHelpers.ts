import type { Connection } from "./Connection.js";

/** A connection with no subscription for this long is closed (1000): it costs a socket and holds nothing. */
export const IDLE_TIMEOUT_MS = 60_000;

/** Closes the connection once it has had no subscription for IDLE_TIMEOUT_MS. */
export function armIdle(connection: Connection): void {
  clearTimeout(connection.idle);
  connection.idle = setTimeout(() => connection.socket.close(1000, "Idle: no subscription for a while"), IDLE_TIMEOUT_MS);
  connection.idle.unref();
}

/** In production, "Did you mean …?" is hidden, as graphql-armor does for HTTP requests. */
export function maskSuggestions<T extends { message: string }>(error: T, production: boolean): T {
  return production ? { ...error, message: error.message.replace(/Did you mean ".+"\?/g, "[Suggestion hidden]").trim() } : error;
}
