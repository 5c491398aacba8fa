import { startStandaloneServer } from "@apollo/server/standalone";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskLoader.js";
import { createApolloServer, createContext, type ApolloServerOptions } from "./createApolloServer.js";

export interface StartServerOptions extends ApolloServerOptions {
  /** Where loads go: the AppFabric client. */
  source: UserAccessTaskSource;
  /** 0 picks a free port. */
  port: number;
  host?: string;
}

export interface RunningServer {
  /** The GraphQL endpoint (also Sandbox, outside production). */
  url: URL;
  stop(): Promise<void>;
}

/** Starts the subgraph over HTTP. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const server = createApolloServer(options);
  const { url } = await startStandaloneServer(server, {
    listen: { port: options.port, host: options.host },
    context: async () => createContext(options.source),
  });
  return { url: new URL(url), stop: () => server.stop() };
}
