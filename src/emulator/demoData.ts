import type { AwsCredentialIdentity } from "@smithy/types";
import type { UserAccessResultItem } from "../appfabric/types.js";

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

/** A fictional person: every demo task is about them. */
const DEMO_USER = {
  email: "jordan.rivers@example.com",
  userFullName: "Jordan Rivers",
  userFirstName: "Jordan",
  userLastName: "Rivers",
};

/** One task of every status, across apps, with stable ids so the README and Sandbox can name them. */
export const DEMO_TASKS: readonly UserAccessResultItem[] = [
  completed("3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21", "Slack", "T024BE7LD", "Example Corp Slack", "U01EXAMPLE", "ACTIVE"),
  completed("7c1a2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "Okta", "example.okta.com", "Example Corp Okta", "00u1example", "ACTIVE"),
  completed("b2e4d6f8-1a3c-4e5b-9d7f-0a2c4e6b8d01", "Zoom", "zm-4471", "Example Corp Zoom", "zoom-user-88", "SUSPENDED"),
  {
    taskId: "c3d5e7f9-2b4d-4f6a-8e0b-1c3e5a7c9e12",
    app: "Box",
    tenantId: "box-90211",
    tenantDisplayName: "Example Corp Box",
    resultStatus: "FAILED",
    taskError: { errorCode: "AppAuthorizationExpired", errorMessage: "The app authorization for Box has expired; reconnect it in AppFabric." },
  },
  {
    taskId: "d4e6f8a0-3c5e-4a7b-9f1c-2d4f6b8d0f23",
    app: "Asana",
    tenantId: "1200000001",
    tenantDisplayName: "Example Corp Asana",
    resultStatus: "IN_PROGRESS",
  },
  {
    taskId: "e5f7a9b1-4d6f-4b8c-8a2d-3e5a7c9e1a34",
    app: "Jira",
    tenantId: "example.atlassian.net",
    tenantDisplayName: "Example Corp Jira",
    resultStatus: "EXPIRED",
  },
];

function completed(taskId: string, app: string, tenantId: string, tenantDisplayName: string, userId: string, userStatus: string): UserAccessResultItem {
  return { taskId, app, tenantId, tenantDisplayName, resultStatus: "COMPLETED", ...DEMO_USER, userId, userStatus };
}
