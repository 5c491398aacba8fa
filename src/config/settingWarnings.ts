import type { Config } from "./loadConfig.js";

/**
 * The settings that are each valid but interact, in one place: a line for each combination that does
 * not do what its parts say, written once at start (as `warn`). Values and variable names only, never
 * a secret.
 */
export function settingWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const cache = config.fleet.resultCache;
  const { watchIntervalMs } = config.subscriptions;
  // The watcher polls through the result cache: an IN_PROGRESS task is served from it until it is due.
  if (cache !== undefined && cache.inProgressMs > watchIntervalMs) {
    warnings.push(
      `Subscriptions see a change at most every ${cache.inProgressMs} ms (RESULT_CACHE_IN_PROGRESS_MS), not every ${watchIntervalMs} ms ` +
        "(SUBSCRIPTION_WATCH_INTERVAL_MS): the watcher polls through the result cache. Lower RESULT_CACHE_IN_PROGRESS_MS or raise the interval.",
    );
  }
  if (config.audit.key === undefined && config.audit.destination !== "off" && config.production) {
    warnings.push("The audit trail's start lines carry no emailDigest: set AUDIT_KEY so that an auditor can find who looked up an address.");
  }
  if (config.trustedDocuments !== undefined && config.auth.routerSecret !== undefined) {
    warnings.push(
      "PERSISTED_DOCUMENTS binds no request: with ROUTER_SECRET every request must carry the secret, and a router's query plans are exempt. " +
        "Enforce the list at the router (Apollo Router's persisted queries, Hive Gateway's persisted documents), or serve frontends with JWTs alone.",
    );
  }
  if (config.trustedDocuments?.mode === "require" && config.introspection) {
    warnings.push(
      `${config.graphiql === undefined ? "Sandbox" : "GraphiQL"} loads but can run nothing with PERSISTED_DOCUMENTS=require: its introspection and ` +
        "the documents typed in it are not listed. Use PERSISTED_DOCUMENTS=allow where people explore the API.",
    );
  }
  for (const { used, instead } of config.environment?.deprecated ?? []) {
    warnings.push(`${used} is a former name of ${instead}: it is still read, but set ${instead} instead.`);
  }
  for (const { name, closest } of config.environment?.unknown ?? []) {
    warnings.push(`${name} is not a setting of this service and is ignored${closest === undefined ? "" : `: did you mean ${closest}?`}`);
  }
  return warnings;
}
