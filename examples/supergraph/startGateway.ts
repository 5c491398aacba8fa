import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from "@apollo/gateway";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";

export interface SubgraphEndpoint {
  name: string;
  url: URL;
}

/**
 * An Apollo Gateway in front of running subgraphs. It composes the supergraph the way a router's
 * tooling does: it fetches each subgraph's `_service { sdl }` over HTTP and composes them. With
 * `routerSecret`, it sends the subgraphs' ROUTER_SECRET as `router-authorization`, as a router would.
 */
export async function startGateway(
  subgraphs: readonly SubgraphEndpoint[],
  options: { port?: number; exampleQuery?: string; routerSecret?: string } = {},
): Promise<{ url: URL; stop: () => Promise<void> }> {
  const { routerSecret } = options;
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs: subgraphs.map(({ name, url }) => ({ name, url: url.href })) }),
    // Every request to a subgraph, the composition's `_service { sdl }` included, carries the secret.
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        willSendRequest: ({ request }) => {
          if (routerSecret !== undefined) request.http?.headers.set("router-authorization", routerSecret);
        },
      }),
  });
  const server = new ApolloServer({
    gateway,
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    plugins: options.exampleQuery ? [ApolloServerPluginLandingPageLocalDefault({ embed: true, document: options.exampleQuery })] : [],
  });
  const { url } = await startStandaloneServer(server, { listen: { port: options.port ?? 0 } });
  return { url: new URL(url), stop: () => server.stop() };
}
