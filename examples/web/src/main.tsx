import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.js";

/** The service's URL: `?api=` (tests, demos), else VITE_GRAPHQL_URL at build time, else the local default. */
const uri = new URLSearchParams(location.search).get("api") ?? import.meta.env.VITE_GRAPHQL_URL ?? "http://localhost:4000/";

/** SHA-256 for automatic persisted queries, from the browser's own Web Crypto. */
async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Subscriptions go over a WebSocket to the same URL (graphql-ws). A socket that has never opened is
 * not retried: the page falls back to polling at once (see App). One that drops after working is
 * retried, as graphql-ws does by default.
 */
let connectedOnce = false;
const webSocket = createClient({
  url: uri.replace(/^http/, "ws"),
  lazy: true,
  shouldRetry: () => connectedOnce,
  on: { connected: () => (connectedOnce = true) },
});

const http = ApolloLink.from([new PersistedQueryLink({ sha256 }), new HttpLink({ uri })]);
const isSubscription = ({ operationType }: ApolloLink.Operation) => operationType === OperationTypeNode.SUBSCRIPTION;

const client = new ApolloClient({
  // Apollo Client posts JSON (content-type: application/json), which passes the service's CSRF
  // prevention; persisted queries send a hash instead of the query text once the service knows it.
  link: ApolloLink.split(isSubscription, new GraphQLWsLink(webSocket), http),
  cache: new InMemoryCache({ typePolicies: { UserAccessTask: { keyFields: ["taskId"] } } }),
});

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App serviceUrl={uri} />
    </ApolloProvider>
  </StrictMode>,
);
