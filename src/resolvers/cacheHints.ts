import { cacheControlFromInfo } from "@apollo/cache-control-types";
import type { GraphQLResolveInfo } from "graphql";
import type { UserAccessResultItem } from "../appfabric/types.js";

/**
 * How long a browser may reuse an answer. A task in a final status no longer changes, so 30 s is safe;
 * an IN_PROGRESS task must be fetched afresh on every poll. Always PRIVATE: the answers carry personal
 * data, so shared caches (CDNs) must not keep them.
 */
export const FINAL_RESULT_MAX_AGE_SECONDS = 30;

/** The cache hint for a field whose answer depends on these tasks (undefined: one failed or is missing). */
export function setTaskCacheHint(info: GraphQLResolveInfo, tasks: ReadonlyArray<UserAccessResultItem | undefined>): void {
  // Only Apollo Server's executions have cache control; a subscription's events (graphql-ws) have no HTTP cache.
  if (!("cacheControl" in info)) return;
  const final = tasks.length > 0 && tasks.every((task) => task?.resultStatus !== undefined && task.resultStatus !== "IN_PROGRESS");
  cacheControlFromInfo(info).setCacheHint({ maxAge: final ? FINAL_RESULT_MAX_AGE_SECONDS : 0, scope: "PRIVATE" });
}
