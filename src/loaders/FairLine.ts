import { MAX_TASK_IDS_PER_BATCH } from "../appfabric/constants.js";
import { OverloadedError } from "../appfabric/errors.js";
import { RateLimitedError } from "../errors/RateLimitedError.js";
import type { Entry } from "./batchEntry.js";

/**
 * The cross-operation batcher's line: ids waiting for a call, held fairly between callers. A caller
 * alone may fill it; with others waiting, none may take more than an equal share, and a caller below
 * its share gets in even when the line is full (see `admit`). Calls are filled round-robin over the
 * callers waiting, one id each in turn (`nextBatch`), and the last free call slot is kept for another
 * caller (`lastSlotKept`).
 */
export class FairLine {
  /** Ids waiting for a call, in arrival order. */
  readonly #waiting = new Map<string, Entry>();
  /**
   * The same ids by the caller whose place they hold, each caller's in arrival order; the callers in
   * the order they are next served (see `nextBatch`).
   */
  readonly #byOwner = new Map<string, Map<string, Entry>>();
  /** Calls under way that carry each caller's ids. */
  readonly #callsByOwner = new Map<string, number>();

  get size(): number {
    return this.#waiting.size;
  }

  get(taskId: string): Entry | undefined {
    return this.#waiting.get(taskId);
  }

  /**
   * Whether a new id of `caller` may take a place in line. A caller alone may fill it (a router's query
   * plan may list thousands of ids). With others waiting, each may hold an equal share; below its share a
   * caller gets in even when the line is full, up to twice `maxQueuedIds` in all, so that one caller
   * holding the whole line cannot keep everyone else out. Loads without a caller keep the plain bound.
   */
  admit(caller: string | undefined, maxQueuedIds: number, onShareRefused?: () => void): OverloadedError | RateLimitedError | undefined {
    const waiting = this.#waiting.size;
    if (caller === undefined) return waiting >= maxQueuedIds ? new OverloadedError(`${waiting} task ids queued`) : undefined;
    const queue = this.#byOwner.get(caller);
    const callers = this.#byOwner.size + (queue === undefined ? 1 : 0);
    const mine = queue?.size ?? 0;
    if (callers > 1 && mine >= Math.max(1, Math.floor(maxQueuedIds / callers))) {
      onShareRefused?.();
      return new RateLimitedError("queue_share", 1);
    }
    const bound = callers > 1 ? 2 * maxQueuedIds : maxQueuedIds;
    return waiting >= bound ? new OverloadedError(`${waiting} task ids queued`) : undefined;
  }

  add(entry: Entry): void {
    this.#waiting.set(entry.taskId, entry);
    const queue = this.#byOwner.get(entry.owner);
    if (queue === undefined) this.#byOwner.set(entry.owner, new Map([[entry.taskId, entry]]));
    else queue.set(entry.taskId, entry);
  }

  remove(entry: Entry): void {
    this.#waiting.delete(entry.taskId);
    const queue = this.#byOwner.get(entry.owner);
    queue?.delete(entry.taskId);
    if (queue?.size === 0) this.#byOwner.delete(entry.owner);
  }

  /**
   * The next call's ids: one from each caller waiting in turn (oldest first), up to 50. A caller
   * served goes to the back of the turn order, so the next call starts with the callers this one
   * reached last. (A Map iterates entries re-added while it runs, which is what makes the turn go round.)
   */
  nextBatch(): Entry[] {
    const batch: Entry[] = [];
    for (const [owner, queue] of this.#byOwner) {
      const [entry] = queue.values();
      if (entry === undefined) continue;
      this.remove(entry);
      if (queue.size > 0) {
        this.#byOwner.delete(owner);
        this.#byOwner.set(owner, queue);
      }
      batch.push(entry);
      if (batch.length === MAX_TASK_IDS_PER_BATCH) break;
    }
    return batch;
  }

  /**
   * Whether the last free slot must wait for another caller: only one caller's ids wait, and calls
   * carrying them already hold every slot but one. (Loads without a caller, the watcher's, are not held.)
   */
  lastSlotKept(maxInFlight: number): boolean {
    if (this.#byOwner.size !== 1 || maxInFlight < 2) return false;
    const [owner] = this.#byOwner.keys();
    if (owner === undefined || owner === "") return false;
    return (this.#callsByOwner.get(owner) ?? 0) >= maxInFlight - 1;
  }

  /** A call carrying these callers' ids left (`1`) or ended (`-1`). */
  countCall(owners: ReadonlySet<string>, change: 1 | -1): void {
    for (const owner of owners) {
      const calls = (this.#callsByOwner.get(owner) ?? 0) + change;
      if (calls > 0) this.#callsByOwner.set(owner, calls);
      else this.#callsByOwner.delete(owner);
    }
  }
}
