import type { TransportFailure } from "./errors.js";

/** The two AppFabric operations this service calls. */
export type AppFabricOperation = "BatchGetUserAccessTasks" | "StartUserAccessTasks";

/** Watches AppFabric calls, for logs and metrics. Its methods must not throw. */
export interface AppFabricCallObserver {
  callStarted(operation: AppFabricOperation): void;
  callEnded(event: AppFabricCallEvent): void;
}

/** One finished AppFabric call attempt, as logs and metrics see it. Carries no ids, names or emails. */
export interface AppFabricCallEvent {
  operation: AppFabricOperation;
  /** How many task ids the call carried. */
  ids: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The HTTP status, or what happened instead of one (`not_sent`: its callers had gone before it left). */
  outcome: number | TransportFailure | "credentials" | "not_sent";
  /** The AWS error type of an error answer. */
  errorType?: string;
  awsRequestId?: string;
  durationMs: number;
}
