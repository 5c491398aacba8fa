/** Which of a caller's budgets ran out (a fixed word: logged and counted, never the caller). */
export type BudgetReason = "task_ids" | "starts" | "queue_share" | "watched_ids" | "persisted_bytes";

const WHAT: Record<BudgetReason, string> = {
  task_ids: "its task ids sent to AppFabric per second (CALLER_MAX_TASK_IDS_PER_SECOND)",
  starts: "its starts per minute (CALLER_MAX_STARTS_PER_MINUTE)",
  queue_share: "its share of the task ids waiting for AppFabric (APPFABRIC_MAX_QUEUED_IDS shared by every caller waiting)",
  watched_ids: "its task ids watched by subscriptions (SUBSCRIPTION_MAX_WATCHED_IDS_PER_CALLER)",
  persisted_bytes: "its bytes of persisted documents per minute (CALLER_MAX_PERSISTED_BYTES_PER_MINUTE)",
};

/**
 * The caller has used up one of its budgets of AppFabric's capacity; nothing was sent for this work.
 * Other callers are unaffected; this caller may come back after `retryAfterSeconds`.
 */
export class RateLimitedError extends Error {
  readonly reason: BudgetReason;
  readonly retryAfterSeconds: number;
  constructor(reason: BudgetReason, retryAfterSeconds: number) {
    super(`This caller has used up ${WHAT[reason]}; nothing was sent`);
    this.name = "RateLimitedError";
    this.reason = reason;
    this.retryAfterSeconds = Math.max(1, retryAfterSeconds);
  }
}
