import { loadBuiltExplorer, type BuiltExplorer } from "../server/explorer/graphiqlExplorer.js";
import { ConfigError } from "./ConfigError.js";
import { readText, type Env } from "./env.js";

/**
 * LANDING_PAGE: GraphiQL as built when it is `graphiql` and introspection is on (the page is then
 * read here, once, so that a service that cannot show it does not start); undefined: Sandbox, or no
 * page at all without introspection.
 */
export function readLandingPage(env: Env, introspection: boolean): BuiltExplorer | undefined {
  const page = readText(env, "LANDING_PAGE") ?? "sandbox";
  if (page !== "sandbox" && page !== "graphiql") throw new ConfigError("LANDING_PAGE", "sandbox or graphiql", page);
  if (page === "sandbox" || !introspection) return undefined;
  const explorer = loadBuiltExplorer();
  if (typeof explorer === "string") throw new ConfigError("LANDING_PAGE", `graphiql only once GraphiQL is built; ${explorer}`, page);
  return explorer;
}
