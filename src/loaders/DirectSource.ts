import { ensureError } from "../lib/ensureError.js";
import type { BatchGetter, LoadOptions, UserAccessTaskSource } from "./UserAccessTaskSource.js";
import { matchByTaskId } from "./UserAccessTaskSource.js";

/**
 * Per-operation batching only (`APPFABRIC_COALESCE_MS=0`): each loader batch is one AppFabric call,
 * cancelled by the operation's deadline, and a failed call fails every id it carried.
 */
export class DirectSource implements UserAccessTaskSource {
  constructor(private readonly client: BatchGetter) {}

  async loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}) {
    // One turn of the event loop first, so that a caller who hung up is seen before the call leaves
    // (see CrossOperationBatcher#schedule).
    await new Promise((resolve) => setImmediate(resolve));
    try {
      const trace = options.trace === undefined ? undefined : { parent: options.trace, links: [] };
      return matchByTaskId(taskIds, await this.client.batchGetUserAccessTasks(taskIds, { signal: options.signal, trace }));
    } catch (error) {
      const failure = ensureError(error);
      return taskIds.map(() => failure);
    }
  }
}
