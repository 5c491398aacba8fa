import { Pool } from "undici";

/** One signed POST, as the transport hands it to HTTP. */
export interface HttpRequest {
  url: URL;
  headers: Record<string, string>;
  body: string;
  /** Aborts the request, whatever stage it is at. */
  signal: AbortSignal;
}

/** An HTTP answer, read whole: AppFabric's answers are small JSON documents. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Sends one request and reads its answer; rejects on a connection failure or an abort. */
export type SendHttp = (request: HttpRequest) => Promise<HttpResponse>;

export interface PoolSend {
  send: SendHttp;
  /** Closes the pool's connections once the requests under way have ended. */
  close: () => Promise<void>;
}

/**
 * HTTP for the AppFabric transport: one keep-alive `undici` Pool to the endpoint's origin, used
 * directly (`pool.request`), not through `fetch`. fetch pays for WHATWG streams, `Request` and
 * `Headers` objects and signal plumbing on every call; this path reads the answer as one string.
 * The pool opens at most `connections` sockets (the client's concurrency) and keeps them alive.
 */
export function createPoolSend(origin: URL, options: { connections: number }): PoolSend {
  const pool = new Pool(origin.origin, { connections: options.connections, pipelining: 1 });
  return {
    send: async ({ url, headers, body, signal }) => {
      const response = await pool.request({ method: "POST", path: url.pathname + url.search, headers, body, signal });
      const text = await response.body.text();
      return { status: response.statusCode, headers: response.headers, text };
    },
    close: () => pool.close(),
  };
}
