import { createClient, type Client, type ClientOptions, type FormattedExecutionResult } from "graphql-ws";
import WebSocket from "ws";

/** The WebSocket URL of a service's GraphQL endpoint. */
export function wsUrl(url: URL): string {
  return url.href.replace(/^http/, "ws");
}

/** A `ws` WebSocket class that sends these headers (and `Origin`, if given) in its handshake. */
export function withHandshakeHeaders(headers: Record<string, string>): new (address: string, protocols?: string | string[]) => WebSocket {
  return class extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  };
}

export interface TestClient {
  client: Client;
  /** Close events the client saw, in order. */
  closes: Array<{ code: number; reason: string }>;
}

/** A graphql-ws client as apps use it, that never retries (a test reads each close). */
export function wsClient(url: URL, options: Partial<ClientOptions> = {}): TestClient {
  const closes: TestClient["closes"] = [];
  const client = createClient({
    url: wsUrl(url),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...options,
    on: {
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string };
        closes.push({ code, reason });
      },
      ...options.on,
    },
  });
  return { client, closes };
}

export interface Watch {
  /** Every `next` payload received so far. */
  events: FormattedExecutionResult<Record<string, unknown>, unknown>[];
  /** Settles when the subscription completes or fails (a protocol error, or a closed connection). */
  ended: Promise<{ kind: "complete" } | { kind: "error"; error: unknown }>;
  /** Completes the subscription from the client's side. */
  stop: () => void;
}

/** Subscribes and records what comes back. */
export function watch(client: Client, query: string, variables: Record<string, unknown> = {}, operationName?: string): Watch {
  const events: FormattedExecutionResult<Record<string, unknown>, unknown>[] = [];
  let stop = () => undefined as void;
  const ended = new Promise<{ kind: "complete" } | { kind: "error"; error: unknown }>((resolve) => {
    stop = client.subscribe(
      { query, variables, ...(operationName === undefined ? {} : { operationName }) },
      {
        next: (event) => void events.push(event),
        error: (error) => resolve({ kind: "error", error }),
        complete: () => resolve({ kind: "complete" }),
      },
    );
  });
  return { events, ended, stop: () => stop() };
}

/** The subscription the example page and the docs use. */
export const WATCH = `subscription Watch($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId app resultStatus taskError { errorCode } } }`;

/** One metric's value from a service's /metrics (0 when absent). */
export async function metric(url: URL, line: string): Promise<number> {
  const text = await (await fetch(new URL("/metrics", url))).text();
  const found = text.split("\n").find((candidate) => candidate.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.slice(line.length + 1));
}

/** Closes every client's connection and waits for it. */
export async function disposeAll(clients: readonly TestClient[]): Promise<void> {
  await Promise.all(clients.map(({ client }) => Promise.resolve(client.dispose())));
}
