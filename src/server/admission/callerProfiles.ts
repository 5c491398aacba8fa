import { documentRules } from "../createApolloServer.js";
import { CLIENT_MAX_ALIASES, type OperationLimits } from "../operationLimits.js";
import type { ServerSettings } from "../ServerSettings.js";
import type { DocumentProfile } from "./admitSubscription.js";

/** What a WebSocket connection of one kind of caller may do. */
export interface SubscriptionProfile extends DocumentProfile {
  /** Largest message accepted (the request body limit of the same caller); a larger one closes the connection (1009). */
  maxMessageBytes: number;
  /** Subscriptions one connection may run at once. */
  maxSubscriptionsPerConnection: number;
}

/** What one kind of caller may send, over HTTP (its Apollo server's limits and body size) and WebSocket alike. */
export interface CallerProfile {
  operationLimits: OperationLimits;
  maxRequestBytes: number;
  subscriptions: SubscriptionProfile;
}

export interface CallerProfiles {
  /** Direct callers: frontends, scripts, a router without the secret. */
  client: CallerProfile;
  /** Requests and handshakes that carry the router secret (a router's query plans); absent without `ROUTER_SECRET`. */
  router?: CallerProfile & { secret: string };
}

/**
 * The two kinds of caller, decided once from the settings: HTTP picks the profile by the secret on
 * each request (a route constraint), WebSocket on each handshake; both apply the same limits and rules.
 * A router's ids written in `userAccessTask(s)` keep the client's bound: a router passes a client's
 * arguments on as written.
 */
export function callerProfiles(config: Pick<ServerSettings, "limits" | "subscriptions" | "auth" | "production" | "trustedDocuments">): CallerProfiles {
  const { limits, subscriptions, production } = config;
  const clientTaskIds = limits.maxTaskIdsPerOperation;
  const client = profile(
    { maxTaskIds: clientTaskIds, maxRootFieldTaskIds: clientTaskIds, maxAliases: CLIENT_MAX_ALIASES },
    limits.maxRequestBytes,
    subscriptions.maxPerConnection,
    production,
  );
  // Trusted documents bind direct callers only: a router's query plans are not its frontends' documents.
  if (config.trustedDocuments !== undefined) client.subscriptions.trustedDocuments = config.trustedDocuments;
  const secret = config.auth.routerSecret;
  if (secret === undefined) return { client };
  const router = profile(
    { maxTaskIds: limits.router.maxTaskIdsPerOperation, maxRootFieldTaskIds: clientTaskIds, maxAliases: limits.router.maxAliases },
    limits.router.maxRequestBytes,
    subscriptions.routerMaxPerConnection,
    production,
  );
  return { client, router: { ...router, secret } };
}

function profile(operationLimits: OperationLimits, maxRequestBytes: number, maxSubscriptionsPerConnection: number, production: boolean): CallerProfile {
  const { validationRules, maxTokens } = documentRules(operationLimits, production);
  return {
    operationLimits,
    maxRequestBytes,
    subscriptions: { limits: operationLimits, rules: { validationRules, maxTokens }, maxMessageBytes: maxRequestBytes, maxSubscriptionsPerConnection },
  };
}
