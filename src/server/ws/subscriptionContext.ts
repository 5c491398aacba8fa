import type { DocumentNode } from "graphql";
import { MAX_TASK_IDS_PER_BATCH } from "../../appfabric/constants.js";
import type { Caller } from "../../callers/Caller.js";
import type { CallerRules } from "../../callers/CallerRules.js";
import { requestRefusedError } from "../../errors/requestErrors.js";
import { toGraphQLError } from "../../errors/toGraphQLError.js";
import { UserAccessTaskLoader } from "../../loaders/UserAccessTaskLoader.js";
import type { UserAccessTaskSource } from "../../loaders/UserAccessTaskSource.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import type { TaskWatcher } from "../../subscriptions/TaskWatcher.js";
import { authorize } from "../createOperation.js";
import type { Connection, SubscriptionRecord } from "./Connection.js";

export interface SubscriptionContextOptions {
  watcher: TaskWatcher;
  /** For the (unused) loader of a subscription's context: resolvers are typed for one. */
  source: UserAccessTaskSource;
  rules: CallerRules;
  /** Whether a document reads personal data (then its reads are audited). */
  readsPersonalData: (document: DocumentNode) => boolean;
}

/**
 * The resolvers' context of one subscription of `caller` on `connection`: it watches tasks through the
 * shared watcher, charging the caller's task-id budget for the ids nobody watches yet, and audits reads
 * of personal data as HTTP does. Starting tasks is for HTTP.
 */
export function subscriptionContext(
  connection: Connection,
  caller: Caller,
  record: SubscriptionRecord,
  document: DocumentNode,
  options: SubscriptionContextOptions,
): GraphQLContext {
  const { watcher, rules } = options;
  return {
    requestId: connection.id,
    caller,
    authorize: (action) => authorize(caller, action, rules),
    userAccessTasks: new UserAccessTaskLoader(options.source, { caller: caller.key }),
    startUserAccessTasks: () => Promise.reject(requestRefusedError("Start tasks over HTTP.")),
    log: { written: false, callerGone: false },
    watchUserAccessTasks: async (ids) => {
      // The ids nobody watches yet are asked of AppFabric at once, for this caller: its task-id
      // budget pays for them, as over HTTP (the watcher's later polls serve everyone and are not charged).
      try {
        for (let left = watcher.unwatched(ids); left > 0; left -= MAX_TASK_IDS_PER_BATCH) {
          await rules.budgets.takeTaskIds(caller.key, Math.min(left, MAX_TASK_IDS_PER_BATCH));
        }
      } catch (error) {
        throw toGraphQLError(error);
      }
      record.taskIds = ids.length;
      record.watch = watcher.subscribe(ids, caller.key);
      if (ids.length > 0 && options.readsPersonalData(document)) {
        rules.audit.read({ requestId: connection.id, caller, taskIds: ids.length, operationName: record.operationName, via: "websocket" });
      }
      // Closed with its connection, whatever graphql-ws does with it.
      if (connection.closed) void record.watch.events.return();
      return record.watch.events;
    },
  };
}
