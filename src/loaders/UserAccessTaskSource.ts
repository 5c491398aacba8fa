import type { SpanContext } from "@opentelemetry/api";
import type { CallTrace } from "../appfabric/callEvents.js";
import type { UserAccessResultItem } from "../appfabric/types.js";

/** What a source is told about one operation's load: its deadline, its span when traced, and who asks. */
export interface LoadOptions {
  signal?: AbortSignal;
  trace?: SpanContext;
  /** The asking caller's key (`Caller.key`), for its budgets and its share of the queue; none for the watcher's polls. */
  caller?: string;
}

/**
 * Where an operation's loader gets tasks from. One answer per id, in order: the item, `undefined`
 * when AppFabric has no result for the id, or the `Error` of the call that carried it. Ids of one
 * batch may travel in different AppFabric calls, so they may fail one by one.
 */
export interface UserAccessTaskSource {
  loadUserAccessTasks(taskIds: readonly string[], options?: LoadOptions): Promise<Array<UserAccessResultItem | undefined | Error>>;
}

/** What a source needs from the AppFabric client: one `BatchGetUserAccessTasks` call of ≤ 50 ids. */
export interface BatchGetter {
  batchGetUserAccessTasks(taskIdList: readonly string[], options?: { signal?: AbortSignal; trace?: CallTrace }): Promise<UserAccessResultItem[]>;
}

/** AppFabric answers in no promised order: results are matched to ids by `taskId`. */
export function matchByTaskId(taskIds: readonly string[], items: readonly UserAccessResultItem[]): Array<UserAccessResultItem | undefined> {
  const byTaskId = new Map<string, UserAccessResultItem>();
  for (const item of items) {
    if (item.taskId !== undefined) byTaskId.set(item.taskId.toLowerCase(), item);
  }
  return taskIds.map((taskId) => byTaskId.get(taskId));
}
