/** The SigV4 signing name of AppFabric. */
export const SIGNING_SERVICE = "appfabric";

/** `BatchGetUserAccessTasks` accepts 1..50 task ids per call. */
export const MAX_TASK_IDS_PER_BATCH = 50;

/** AppFabric's task id pattern. Lower-case hex only: an upper-case id fails AWS validation. */
export const TASK_ID_PATTERN = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

/** AppFabric's app bundle identifier: an ARN or a lower-case UUID, 1..1011 characters. */
export const APP_BUNDLE_PATTERN = /^(arn:.+|[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})$/;
export const MAX_APP_BUNDLE_LENGTH = 1011;

/** The per-attempt timeout when none is configured. */
export const DEFAULT_TIMEOUT_MS = 5_000;

/** Attempts per call, the first included, as AWS SDKs' standard retry mode. */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** AppFabric attempts in flight at once per process. */
export const DEFAULT_MAX_CONCURRENCY = 8;

/** AppFabric attempts that may wait for a slot; more fail at once as overloaded. */
export const DEFAULT_MAX_QUEUED_CALLS = 200;

/** Task ids that may wait for a shared call (the cross-operation batcher); more fail at once as overloaded. */
export const DEFAULT_MAX_QUEUED_IDS = 5_000;

export const BATCH_GET_USER_ACCESS_TASKS_PATH = "/useraccess/batchget";
export const START_USER_ACCESS_TASKS_PATH = "/useraccess/start";

/** AppFabric's limit on `StartUserAccessTasks`'s email. */
export const MAX_EMAIL_LENGTH = 320;

/** AWS's public endpoint for a region. */
export function defaultEndpoint(region: string): URL {
  return new URL(`https://appfabric.${region}.amazonaws.com`);
}

/** Whether `value` is a task id AppFabric accepts as it stands. */
export function isTaskId(value: string): boolean {
  return TASK_ID_PATTERN.test(value);
}

/** Whether `value` is an app bundle identifier AppFabric accepts. */
export function isAppBundleIdentifier(value: string): boolean {
  return value.length <= MAX_APP_BUNDLE_LENGTH && APP_BUNDLE_PATTERN.test(value);
}
