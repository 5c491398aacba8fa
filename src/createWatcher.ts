import type { CallerBudgets } from "./callers/CallerBudgets.js";
import type { UserAccessTaskSource } from "./loaders/UserAccessTaskSource.js";
import type { Metrics } from "./observability/Metrics.js";
import type { SubscriptionSettings } from "./server/ServerSettings.js";
import { TaskWatcher } from "./subscriptions/TaskWatcher.js";

/**
 * The watcher behind every subscription, built with the rest of the domain (startService): it polls
 * through `source` (the same read path as queries, cache and budgets included), refuses past the
 * settings' bounds and reports to the metrics. The subscription server ends its subscriptions on close.
 */
export function createWatcher(
  settings: SubscriptionSettings,
  source: UserAccessTaskSource,
  { budgets, metrics }: { budgets: Pick<CallerBudgets, "refused">; metrics: Metrics },
): TaskWatcher {
  const watcher = new TaskWatcher({
    source,
    intervalMs: settings.watchIntervalMs,
    maxWatchedIds: settings.maxWatchedIds,
    maxWatchedIdsPerCaller: settings.maxWatchedIdsPerCaller,
    maxSubscriptions: settings.maxActive,
    maxLifetimeMs: settings.maxLifetimeMs,
    observer: { watcherPolled: (ids) => metrics.watcherPolled(ids), watchShareRefused: () => budgets.refused("watched_ids") },
  });
  metrics.observeWatcher(() => watcher.size.watchedIds);
  return watcher;
}
