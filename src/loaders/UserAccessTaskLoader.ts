import DataLoader from "dataloader";
import { MAX_TASK_IDS_PER_BATCH, isTaskId } from "../appfabric/constants.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { invalidTaskIdError, taskNotFoundError } from "../errors/taskErrors.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";

/** What the loader needs from the AppFabric client: one `BatchGetUserAccessTasks` call. */
export interface UserAccessTaskSource {
  /** `signal` is the operation's deadline: when it aborts, the call gives up. */
  batchGetUserAccessTasks(taskIdList: readonly string[], options?: { signal?: AbortSignal }): Promise<UserAccessResultItem[]>;
}

/**
 * Loads user-access tasks for one GraphQL operation. Create one per operation: its cache holds what
 * this caller was allowed to read, and sharing it would hand that to another caller.
 *
 * Every `load` made in the same tick (root fields, aliases, list items, entity references) lands in one
 * DataLoader batch, which DataLoader cuts into calls of at most 50 distinct ids. Ids are lower-cased
 * before they reach the cache, so `ABC…` and `abc…` are one id and one slot in a call; malformed ids
 * are rejected here and never reach AppFabric.
 */
export class UserAccessTaskLoader {
  readonly #loader: DataLoader<string, UserAccessResultItem>;
  #idsRequested = 0;

  constructor(source: UserAccessTaskSource, options: { deadline?: AbortSignal } = {}) {
    this.#loader = new DataLoader(
      (taskIds) => {
        this.#idsRequested += taskIds.length;
        return loadBatch(source, taskIds, options.deadline);
      },
      { maxBatchSize: MAX_TASK_IDS_PER_BATCH },
    );
  }

  /** How many ids this loader has asked AppFabric for (distinct, unless a failed call was retried). */
  get idsRequested(): number {
    return this.#idsRequested;
  }

  /**
   * The task with this id. Rejects with `BAD_USER_INPUT` for a malformed id, `NOT_FOUND` when
   * AppFabric has no result for it, or the mapped error of the call that carried it.
   */
  load(taskId: string): Promise<UserAccessResultItem> {
    const normalized = taskId.toLowerCase();
    if (!isTaskId(normalized)) return Promise.reject(invalidTaskIdError(taskId));
    return this.#loader.load(normalized);
  }
}

/**
 * DataLoader's batch function: one AppFabric call for up to 50 distinct ids. AppFabric promises neither
 * order nor one item per id, so results are matched by `taskId`; an id with no result gets its own
 * `NOT_FOUND`. A failed call rejects as a whole: DataLoader then fails exactly this chunk's ids and
 * does not cache the failure, so a later load in the same operation may try again.
 */
async function loadBatch(source: UserAccessTaskSource, taskIds: readonly string[], deadline?: AbortSignal): Promise<Array<UserAccessResultItem | Error>> {
  let items: UserAccessResultItem[];
  try {
    items = await source.batchGetUserAccessTasks(taskIds, { signal: deadline });
  } catch (error) {
    throw toGraphQLError(error);
  }
  const byTaskId = new Map<string, UserAccessResultItem>();
  for (const item of items) {
    if (item.taskId !== undefined) byTaskId.set(item.taskId.toLowerCase(), item);
  }
  return taskIds.map((taskId) => byTaskId.get(taskId) ?? taskNotFoundError(taskId));
}
