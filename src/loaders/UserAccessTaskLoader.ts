import type { SpanContext } from "@opentelemetry/api";
import DataLoader from "dataloader";
import { MAX_TASK_IDS_PER_BATCH, isTaskId } from "../appfabric/constants.js";
import { TaskNotFoundError } from "../appfabric/errors.js";
import type { UserAccessResultItem } from "../appfabric/types.js";
import { invalidTaskIdError } from "../errors/taskErrors.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";
import type { UserAccessTaskSource } from "./UserAccessTaskSource.js";

/**
 * Loads user-access tasks for one GraphQL operation. Create one per operation: its cache holds what
 * this caller was allowed to read, and sharing it would hand that to another caller.
 *
 * Every `load` made in the same tick (root fields, aliases, list items, entity references) lands in one
 * DataLoader batch of at most 50 distinct ids, handed to the source (one AppFabric call, or a share of
 * calls pooled with other operations). Ids are lower-cased before they reach the cache, so `ABC…` and
 * `abc…` are one id and one slot in a call; malformed ids are rejected here and never reach AppFabric.
 */
export class UserAccessTaskLoader {
  readonly #loader: DataLoader<string, UserAccessResultItem>;
  #idsRequested = 0;
  #idsRead = 0;

  /** `caller`: the key of the caller the operation runs for (its budgets and share of the queue). */
  constructor(source: UserAccessTaskSource, options: { deadline?: AbortSignal; trace?: SpanContext; caller?: string } = {}) {
    this.#loader = new DataLoader(
      async (taskIds) => {
        this.#idsRequested += taskIds.length;
        const results = await source.loadUserAccessTasks(taskIds, { signal: options.deadline, trace: options.trace, caller: options.caller });
        for (const result of results) if (result !== undefined && !(result instanceof Error)) this.#idsRead += 1;
        return results.map((result, index) => toLoadResult(result, taskIds[index] ?? ""));
      },
      { maxBatchSize: MAX_TASK_IDS_PER_BATCH },
    );
  }

  /** How many ids this loader has asked its source for (distinct, unless a failed one was asked again). */
  get idsRequested(): number {
    return this.#idsRequested;
  }

  /** How many tasks this loader has read (answered with a result: what the audit trail counts). */
  get idsRead(): number {
    return this.#idsRead;
  }

  /**
   * The task with this id. Rejects with `BAD_USER_INPUT` for a malformed id, `NOT_FOUND` when
   * AppFabric has no result for it, or the mapped error of the call that carried it. A failed call is
   * not remembered: the id is dropped from the cache, so a later load in the operation asks again.
   */
  load(taskId: string): Promise<UserAccessResultItem> {
    if (typeof taskId !== "string") return Promise.reject(invalidTaskIdError(""));
    const normalized = taskId.toLowerCase();
    if (!isTaskId(normalized)) return Promise.reject(invalidTaskIdError(taskId));
    return this.#loader.load(normalized).catch((error: unknown) => {
      // Decided on the domain error: only "AppFabric has no such task" is worth remembering.
      if (!(error instanceof TaskNotFoundError)) this.#loader.clear(normalized);
      throw toGraphQLError(error);
    });
  }
}

/** A source's answer for one id, as DataLoader wants it: the item or a domain Error in its slot. */
function toLoadResult(result: UserAccessResultItem | undefined | Error, taskId: string): UserAccessResultItem | Error {
  return result === undefined ? new TaskNotFoundError(taskId) : result;
}
