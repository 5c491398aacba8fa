import type { CachedResult } from "./cachedItem.js";

/**
 * What the result cache needs of the fleet's store, declared by the cache; the fleet implements it in
 * Redis (`SharedResults`). Every method answers `undefined` (or does nothing) when the store cannot help.
 */
export interface SharedResultStore {
  /** One per id: the result, `undefined` when absent, `"rejected"` for a value this service did not write (the caller counts it). */
  get(taskIds: readonly string[]): Promise<Array<CachedResult | "rejected" | undefined> | undefined>;
  claim(taskIds: readonly string[], ttlMs: number): Promise<boolean[] | undefined>;
  store(results: ReadonlyArray<{ taskId: string; cached: CachedResult; ttlMs: number }>, released: readonly string[]): Promise<void>;
  rejected(count: number): void;
}
