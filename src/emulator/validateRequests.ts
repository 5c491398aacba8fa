import { MAX_APP_BUNDLE_LENGTH, MAX_EMAIL_LENGTH, MAX_TASK_IDS_PER_BATCH, APP_BUNDLE_PATTERN, TASK_ID_PATTERN } from "../appfabric/constants.js";
import { AWS_EMAIL_PATTERN } from "../appfabric/email.js";
import { isRecord } from "../lib/isRecord.js";
import type { BatchGetUserAccessTasksRequest, StartUserAccessTasksRequest, ValidationExceptionField, ValidationExceptionReason } from "../appfabric/types.js";

export interface ValidationFailure {
  reason: ValidationExceptionReason;
  message: string;
  fieldList?: ValidationExceptionField[];
}

/**
 * Validates a `BatchGetUserAccessTasks` body against AppFabric's model: both members required, the
 * bundle an ARN or UUID of 1..1011 characters, 1..50 task ids each a lower-case UUID. Every broken
 * constraint is listed in `fieldList`, in AWS's `Member must…` wording.
 */
export function validateBatchGetRequest(parsed: ParsedBody): BatchGetUserAccessTasksRequest | ValidationFailure {
  if (!parsed.ok) return parsed.failure;
  const { body } = parsed;
  const fieldList = bundleProblems(body);
  const bundle = body["appBundleIdentifier"];

  const taskIds = body["taskIdList"];
  if (!Array.isArray(taskIds)) {
    fieldList.push({ name: "taskIdList", message: "Member must not be null and must be a list" });
  } else {
    if (taskIds.length < 1 || taskIds.length > MAX_TASK_IDS_PER_BATCH) {
      fieldList.push({ name: "taskIdList", message: `Member must have length between 1 and ${MAX_TASK_IDS_PER_BATCH}` });
    }
    taskIds.forEach((taskId: unknown, index) => {
      if (typeof taskId !== "string" || !TASK_ID_PATTERN.test(taskId)) {
        fieldList.push({ name: `taskIdList.${index + 1}.member`, message: `Member must satisfy regular expression pattern: ${TASK_ID_PATTERN.source}` });
      }
    });
  }

  if (fieldList.length > 0) return fieldValidationFailed(fieldList);
  return { appBundleIdentifier: bundle as string, taskIdList: taskIds as string[] };
}

/** Validates a `StartUserAccessTasks` body: the bundle as above, and an email of at most 320 characters matching the model's `Email` pattern. */
export function validateStartRequest(parsed: ParsedBody): StartUserAccessTasksRequest | ValidationFailure {
  if (!parsed.ok) return parsed.failure;
  const { body } = parsed;
  const fieldList = bundleProblems(body);
  const email = body["email"];
  if (typeof email !== "string") {
    fieldList.push({ name: "email", message: "Member must not be null and must be a string" });
  } else if (email.length > MAX_EMAIL_LENGTH) {
    // The model's Email has min 0: an empty address fails the pattern, not the length.
    fieldList.push({ name: "email", message: `Member must have length less than or equal to ${MAX_EMAIL_LENGTH}` });
  } else if (!AWS_EMAIL_PATTERN.test(email)) {
    fieldList.push({ name: "email", message: `Member must satisfy regular expression pattern: ${AWS_EMAIL_PATTERN.source}` });
  }
  if (fieldList.length > 0) return fieldValidationFailed(fieldList);
  return { appBundleIdentifier: body["appBundleIdentifier"] as string, email: email as string };
}

/** A request body read once: the JSON object, or why it is not one. */
export type ParsedBody = { ok: true; body: Record<string, unknown> } | { ok: false; failure: ValidationFailure };

export function parseBody(bodyText: string): ParsedBody {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    return { ok: false, failure: { reason: "cannotParse", message: "Could not parse the request body as JSON." } };
  }
  return isRecord(body) ? { ok: true, body } : { ok: false, failure: { reason: "cannotParse", message: "The request body must be a JSON object." } };
}

function bundleProblems(body: Record<string, unknown>): ValidationExceptionField[] {
  const bundle = body["appBundleIdentifier"];
  if (typeof bundle !== "string") return [{ name: "appBundleIdentifier", message: "Member must not be null and must be a string" }];
  if (bundle.length < 1 || bundle.length > MAX_APP_BUNDLE_LENGTH) {
    return [{ name: "appBundleIdentifier", message: `Member must have length between 1 and ${MAX_APP_BUNDLE_LENGTH}` }];
  }
  if (!APP_BUNDLE_PATTERN.test(bundle)) {
    return [{ name: "appBundleIdentifier", message: `Member must satisfy regular expression pattern: ${APP_BUNDLE_PATTERN.source}` }];
  }
  return [];
}

function fieldValidationFailed(fieldList: ValidationExceptionField[]): ValidationFailure {
  return { reason: "fieldValidationFailed", message: `${fieldList.length} validation error${fieldList.length === 1 ? "" : "s"} detected`, fieldList };
}
