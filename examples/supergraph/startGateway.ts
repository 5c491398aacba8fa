import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";

export interface SubgraphEndpoint {
  name: string;
  url: URL;
}

/**
 * An Apollo Gateway in front of running subgraphs. It composes the supergraph the way a router's
 * tooling does: it fetches each subgraph's `_service { sdl }` over HTTP and composes them.
 */
export async function startGateway(
  subgraphs: readonly SubgraphEndpoint[],
  options: { port?: number; exampleQuery?: string } = {},
): Promise<{ url: URL; stop: () => Promise<void> }> {
  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({ subgraphs: subgraphs.map(({ name, url }) => ({ name, url: url.href })) }),
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
