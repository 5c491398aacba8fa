import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { PersistedQueryLink } from "@apollo/client/link/persisted-queries";
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

const client = new ApolloClient({
  // Apollo Client posts JSON (content-type: application/json), which passes the service's CSRF
  // prevention; persisted queries send a hash instead of the query text once the service knows it.
  link: ApolloLink.from([new PersistedQueryLink({ sha256 }), new HttpLink({ uri })]),
  cache: new InMemoryCache({ typePolicies: { UserAccessTask: { keyFields: ["taskId"] } } }),
});

createRoot(document.getElementById("root") as HTMLElement).render(
  <StrictMode>
    <ApolloProvider client={client}>
      <App serviceUrl={uri} />
    </ApolloProvider>
  </StrictMode>,
);
