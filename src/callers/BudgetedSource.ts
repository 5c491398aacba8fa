import type { LoadOptions, UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import type { CallerBudgets } from "./CallerBudgets.js";
import { RateLimitedError } from "../errors/RateLimitedError.js";

/**
 * Charges each caller's task-id budget for the ids that go on to AppFabric. It sits under the result
 * cache, so a hit costs nothing, and over the batcher. A load with no caller (the subscription
 * watcher's polls, which serve every subscriber and are bounded by the watcher's own limits) is not
 * charged. A load over budget answers `RateLimitedError` for each of its ids and sends nothing.
 */
export class BudgetedSource implements UserAccessTaskSource {
  readonly #inner: UserAccessTaskSource;
  readonly #budgets: CallerBudgets;

  constructor(inner: UserAccessTaskSource, budgets: CallerBudgets) {
    this.#inner = inner;
    this.#budgets = budgets;
  }

  async loadUserAccessTasks(taskIds: readonly string[], options: LoadOptions = {}) {
    if (options.caller !== undefined) {
      try {
        await this.#budgets.takeTaskIds(options.caller, taskIds.length);
      } catch (error) {
        if (error instanceof RateLimitedError) return taskIds.map(() => error);
        throw error;
      }
    }
    return this.#inner.loadUserAccessTasks(taskIds, options);
  }
}
