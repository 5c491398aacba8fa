/**
 * AppFabric's wire shapes for the user-access API (API version 2023-05-19), as its service model
 * defines them. Every member of a result item is optional in the model, so every member is here too.
 */

/** AppFabric's `ResultStatus` enum as its model states it today; AWS may add values (see `resultStatusText`). */
export const RESULT_STATUSES = ["IN_PROGRESS", "COMPLETED", "FAILED", "EXPIRED"] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** Statuses after which a task never changes again: cached for RESULT_CACHE_FINAL_TTL_S, and the end of a watch. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set<ResultStatus>(["COMPLETED", "FAILED", "EXPIRED"]);

/** An error reported by the application for one task. */
export interface TaskError {
  errorCode?: string;
  errorMessage?: string;
}

/** What one application reported for one user. `email`, `userId` and the names are sensitive. */
export interface UserAccessResultItem {
  app?: string;
  tenantId?: string;
  tenantDisplayName?: string;
  taskId?: string;
  resultStatus?: ResultStatus;
  email?: string;
  userId?: string;
  userFullName?: string;
  userFirstName?: string;
  userLastName?: string;
  userStatus?: string;
  taskError?: TaskError;
}

export interface BatchGetUserAccessTasksRequest {
  appBundleIdentifier: string;
  taskIdList: string[];
}

export interface BatchGetUserAccessTasksResponse {
  userAccessResultsList?: UserAccessResultItem[];
}

export interface StartUserAccessTasksRequest {
  appBundleIdentifier: string;
  /** Sensitive. */
  email: string;
}

/** One task `StartUserAccessTasks` started (or could not start) for one application. */
export interface UserAccessTaskItem {
  app: string;
  tenantId: string;
  taskId?: string;
  error?: TaskError;
}

export interface StartUserAccessTasksResponse {
  userAccessTasksList?: UserAccessTaskItem[];
}

/** One entry of a `ValidationException`'s `fieldList`. */
export interface ValidationExceptionField {
  name: string;
  message: string;
}

export type ValidationExceptionReason = "unknownOperation" | "cannotParse" | "fieldValidationFailed" | "other";
