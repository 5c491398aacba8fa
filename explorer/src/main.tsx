// GraphiQL for LANDING_PAGE=graphiql: everything it needs is in this bundle (Monaco's workers
// included), served by the service itself, so that it works on a network without internet access.
import { createGraphiQLFetcher } from "@graphiql/toolkit";
import { GraphiQL } from "graphiql";
import "graphiql/setup-workers/vite";
import "graphiql/style.css";
import { createRoot } from "react-dom/client";
import { readExplorerSettings } from "./settings";

const settings = readExplorerSettings(document);
// The page is served at the GraphQL endpoint itself; subscriptions use the same port and path.
const endpoint = new URL(window.location.pathname, window.location.origin);
const subscriptions = new URL(endpoint);
subscriptions.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

const fetcher = createGraphiQLFetcher({ url: endpoint.href, subscriptionUrl: subscriptions.href });
const root = document.getElementById("root");
if (root === null) throw new Error("The page has no #root element.");
createRoot(root).render(
  <GraphiQL
    fetcher={fetcher}
    initialQuery={settings.query}
    initialVariables={JSON.stringify(settings.variables, null, 2)}
    defaultEditorToolsVisibility="variables"
  />,
);
