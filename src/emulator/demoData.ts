import type { AwsCredentialIdentity } from "@smithy/types";
import type { ResultStatus, TaskError, UserAccessResultItem } from "../appfabric/types.js";

/**
 * The key pair the emulator accepts and the service signs with in emulator mode. It opens nothing
 * but the emulator, and is shaped like an AWS key so that signing and verification run for real.
 */
export const EMULATOR_CREDENTIALS: AwsCredentialIdentity = {
  accessKeyId: "AKIAEMULATOR00000000",
  secretAccessKey: "emulator/secret/key/not/for/aws/000000000",
};

export const DEMO_APP_BUNDLE_ID = "a1b2c3d4-0000-4000-8000-00000000b0d1";
export const DEMO_APP_BUNDLE_ARN = `arn:aws:appfabric:us-east-1:111122223333:appbundle/${DEMO_APP_BUNDLE_ID}`;

/** A fictional person: every fixed demo task is about them. */
const DEMO_USER = {
  email: "jordan.rivers@example.com",
  userFullName: "Jordan Rivers",
  userFirstName: "Jordan",
  userLastName: "Rivers",
};

/** What one application of the demo bundle does when a lookup starts: when its task ends, and how. */
export interface StartPlan {
  /** The task's final status and when it is reached, in units of `taskProgressMs`. */
  outcome?: { status: Exclude<ResultStatus, "IN_PROGRESS">; after: number; userStatus?: string; taskError?: TaskError };
  /** The task could not start at all. */
  startError?: TaskError;
}

/** One application of the demo bundle: its tenant, the fixed demo task about Jordan, and how new lookups go. */
export interface DemoApp {
  app: string;
  tenantId: string;
  tenantDisplayName: string;
  /** A task about Jordan with a stable id (README, Sandbox), as it stands now. */
  demoTask: { taskId: string; resultStatus: ResultStatus; userId?: string; userStatus?: string; taskError?: TaskError };
  start: StartPlan;
}

const BOX_AUTH_EXPIRED: TaskError = {
  errorCode: "AppAuthorizationExpired",
  errorMessage: "The app authorization for Box has expired; reconnect it in AppFabric.",
};

/**
 * The one table of demo applications, with one story each, told the same way by the fixed demo
 * tasks and by lookups started on the emulator: Slack, Okta and Zoom answer; Box's authorization has
 * expired, so its tasks fail; Asana is slow, so Jordan's task is still running and new ones time out
 * (EXPIRED); Jira's connection lapsed, so Jordan's old task expired and new lookups cannot start.
 */
export const DEMO_APPS: readonly DemoApp[] = [
  {
    app: "Slack",
    tenantId: "T024BE7LD",
    tenantDisplayName: "Example Corp Slack",
    demoTask: { taskId: "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21", resultStatus: "COMPLETED", userId: "U01EXAMPLE", userStatus: "ACTIVE" },
    start: { outcome: { status: "COMPLETED", after: 1, userStatus: "ACTIVE" } },
  },
  {
    app: "Okta",
    tenantId: "example.okta.com",
    tenantDisplayName: "Example Corp Okta",
    demoTask: { taskId: "7c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", resultStatus: "COMPLETED", userId: "00u1example", userStatus: "ACTIVE" },
    start: { outcome: { status: "COMPLETED", after: 2, userStatus: "ACTIVE" } },
  },
  {
    app: "Zoom",
    tenantId: "zm-4471",
    tenantDisplayName: "Example Corp Zoom",
    demoTask: { taskId: "b2e4d6f8-1a3c-4e5b-9d7f-0a2c4e6b8d01", resultStatus: "COMPLETED", userId: "zoom-user-88", userStatus: "SUSPENDED" },
    start: { outcome: { status: "COMPLETED", after: 3, userStatus: "SUSPENDED" } },
  },
  {
    app: "Box",
    tenantId: "box-90211",
    tenantDisplayName: "Example Corp Box",
    demoTask: { taskId: "c3d5e7f9-2b4d-4f6a-8e0b-1c3e5a7c9e12", resultStatus: "FAILED", taskError: BOX_AUTH_EXPIRED },
    start: { outcome: { status: "FAILED", after: 2.5, taskError: BOX_AUTH_EXPIRED } },
  },
  {
    app: "Asana",
    tenantId: "1200000001",
    tenantDisplayName: "Example Corp Asana",
    demoTask: { taskId: "d4e6f8a0-3c5e-4a7b-9f1c-2d4f6b8d0f23", resultStatus: "IN_PROGRESS" },
    start: { outcome: { status: "EXPIRED", after: 4 } },
  },
  {
    app: "Jira",
    tenantId: "example.atlassian.net",
    tenantDisplayName: "Example Corp Jira",
    demoTask: { taskId: "e5f7a9b1-4d6f-4b8c-8a2d-3e5a7c9e1a34", resultStatus: "EXPIRED" },
    start: { startError: { errorCode: "AppNotConnected", errorMessage: "Jira is not connected to this app bundle." } },
  },
];

/** Jordan's fixed tasks, one per application, one of every status, with stable ids so the README and Sandbox can name them. */
export const DEMO_TASKS: readonly UserAccessResultItem[] = DEMO_APPS.map(({ app, tenantId, tenantDisplayName, demoTask }) => {
  const { taskId, resultStatus, userId, userStatus, taskError } = demoTask;
  const base: UserAccessResultItem = { taskId, app, tenantId, tenantDisplayName, resultStatus };
  if (resultStatus === "COMPLETED") return { ...base, ...DEMO_USER, userId, userStatus };
  return taskError === undefined ? base : { ...base, taskError };
});
