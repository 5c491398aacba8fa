import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { Kind, OperationTypeNode, type DocumentNode } from "graphql";
import { createClient } from "graphql-ws";
import { ApolloProvider } from "@apollo/client/react";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App.js";
import * as generated from "./__generated__/graphql.js";

/** The service's URL: `?api=` (tests, demos), else VITE_GRAPHQL_URL at build time, else the local default. */
const uri = new URLSearchParams(location.search).get("api") ?? import.meta.env.VITE_GRAPHQL_URL ?? "http://localhost:4000/";

/**
 * Each operation's persisted-document id, by operation name: the hash GraphQL Code Generator's client
 * preset embeds in each document (`__meta__.hash`) and lists in persisted-documents.json, the manifest
 * the service reads with PERSISTED_DOCUMENTS.
 */
const documentIds = new Map(
  Object.values(generated).flatMap((value): [string, string][] => {
    const document = value as Partial<DocumentNode> & { __meta__?: { hash?: string } };
    const operation = document.definitions?.find((definition) => definition.kind === Kind.OPERATION_DEFINITION);
    const hash = document.__meta__?.hash;
    return operation?.name !== undefined && hash !== undefined ? [[operation.name.value, hash]] : [];
  }),
);

/**
 * Over HTTP, the id goes as GraphQL over HTTP's `documentId`, beside the text: a service with
 * PERSISTED_DOCUMENTS runs the listed document by its id (in `require` mode, nothing else), one
 * without reads the text. (A build for `require` only could drop the text: the client preset's
 * `mode: "replaceDocumentWithHash"`.)
 */
const withDocumentId: typeof fetch = (input, init) => {
  if (typeof init?.body !== "string") return fetch(input, init);
  const body = JSON.parse(init.body) as { operationName?: string };
  const documentId = documentIds.get(body.operationName ?? "");
  return fetch(input, documentId === undefined ? init : { ...init, body: JSON.stringify({ ...body, documentId }) });
};

/** Over WebSocket, the id travels in the subscribe message's extensions, as Apollo's persisted query link puts it. */
const withPersistedQueryId = new ApolloLink((operation, forward) => {
  const sha256Hash = documentIds.get(operation.operationName ?? "");
  if (sha256Hash !== undefined) operation.extensions = { ...operation.extensions, persistedQuery: { version: 1, sha256Hash } };
  return forward(operation);
});

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

const http = new HttpLink({ uri, fetch: withDocumentId });
const isSubscription = ({ operationType }: ApolloLink.Operation) => operationType === OperationTypeNode.SUBSCRIPTION;

const client = new ApolloClient({
  // Apollo Client posts JSON (content-type: application/json), which passes the service's CSRF
  // prevention; every operation names its persisted document.
  link: ApolloLink.split(isSubscription, ApolloLink.from([withPersistedQueryId, new GraphQLWsLink(webSocket)]), http),
  cache: new InMemoryCache({ typePolicies: { UserAccessTask: { keyFields: ["taskId"] } } }),
});

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App serviceUrl={uri} />
    </ApolloProvider>
  </StrictMode>,
);
