import { createServer } from "node:http";
import { createGatewayRuntime } from "@graphql-hive/gateway";
import { composeServices } from "@theguild/federation-composition";
import { parse } from "graphql";
import type { SubgraphEndpoint } from "./startGateway.js";

export interface HiveGatewayOptions {
  port?: number;
  /** Sent to every subgraph as `router-authorization` (the subgraphs' ROUTER_SECRET). */
  routerSecret?: string;
}

/**
 * Hive Gateway in front of running subgraphs, composed as Guild's tooling does: each subgraph's
 * `_service { sdl }` fetched over HTTP and composed with `@theguild/federation-composition` (what
 * Mesh Compose and Hive's registry use). GraphQL is served at `/graphql`; subscriptions there over
 * SSE (`accept: text/event-stream`), passed through to the subgraph over WebSocket.
 */
export async function startHiveGateway(
  subgraphs: readonly SubgraphEndpoint[],
  options: HiveGatewayOptions = {},
): Promise<{ url: URL; stop: () => Promise<void> }> {
  const headers: Record<string, string> = options.routerSecret === undefined ? {} : { "router-authorization": options.routerSecret };
  const services = await Promise.all(subgraphs.map(async ({ name, url }) => ({ name, url: url.href, typeDefs: parse(await fetchSdl(url, headers)) })));
  const composed = composeServices(services);
  if (composed.errors !== undefined) throw new Error(`composition failed: ${composed.errors.map((error) => error.message).join("; ")}`);
  const gateway = createGatewayRuntime({
    supergraph: composed.supergraphSdl,
    logging: false,
    propagateHeaders: { fromClientToSubgraphs: () => headers },
    // Subscriptions reach the subgraphs over graphql-ws at their own URL, the secret in the handshake
    // (so a subgraph gives the connection a router's limits). Clients subscribe over SSE or WebSocket.
    transportEntries: Object.fromEntries(
      subgraphs.map(({ name, url }) => [name, { options: { subscriptions: { kind: "ws", location: url.href, headers: Object.entries(headers) } } }]),
    ),
  });
  const server = createServer((request, response) => void gateway.requestListener(request, response));
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: new URL(`http://127.0.0.1:${port}/graphql`),
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.dispose();
    },
  };
}

async function fetchSdl(url: URL, headers: Record<string, string>): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = (await response.json()) as { data?: { _service?: { sdl?: string } } };
  const sdl = body.data?._service?.sdl;
  if (sdl === undefined) throw new Error(`${url.href} answered ${response.status} without _service { sdl }`);
  return sdl;
}
