import { loadRestJsonErrorCode } from "@smithy/core/protocols";
import { getRetryAfterHint } from "@smithy/core/retry";
import { AppFabricServiceError } from "./errors.js";
import { isRecord } from "../lib/isRecord.js";
import type { ValidationExceptionField } from "./types.js";

/**
 * Reads an AppFabric error answer (restJson1). The error type comes from `X-Amzn-Errortype`, else the
 * body's `code`, else `__type`, cleaned (`aws.protocols#ThrottlingException:http://…` →
 * `ThrottlingException`) by smithy's own `loadRestJsonErrorCode`, which is what AWS SDKs run.
 * A body that is not JSON still yields an error with the status and request id. `Retry-After` (seconds
 * or an HTTP date) is read by smithy's `getRetryAfterHint`, against the real clock as it does.
 */
export function parseServiceError(statusCode: number, headers: Record<string, string>, bodyText: string): AppFabricServiceError {
  const body = parseJsonObject(bodyText);
  const retryAfter = getRetryAfterHint({ statusCode, headers });
  return new AppFabricServiceError({
    statusCode,
    errorType: loadRestJsonErrorCode({ statusCode, headers }, body) || undefined,
    requestId: requestIdOf(headers),
    awsMessage: stringField(body, "message") ?? stringField(body, "Message"),
    reason: stringField(body, "reason"),
    fieldList: fieldListOf(body),
    resourceId: stringField(body, "resourceId"),
    resourceType: stringField(body, "resourceType"),
    serviceCode: stringField(body, "serviceCode"),
    quotaCode: stringField(body, "quotaCode"),
    retryAfterSeconds: retryAfter ? Math.max(0, Math.ceil((retryAfter.getTime() - Date.now()) / 1000)) : undefined,
  });
}

/** AWS's request id, under any of the names AWS services send it (smithy's `deserializeMetadata` reads the same three). */
export function requestIdOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  const value = headers["x-amzn-requestid"] ?? headers["x-amzn-request-id"] ?? headers["x-amz-request-id"];
  return Array.isArray(value) ? value.join(", ") : value;
}

function parseJsonObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}

function stringField(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  return typeof value === "string" ? value : undefined;
}

function fieldListOf(body: Record<string, unknown>): ValidationExceptionField[] | undefined {
  const list = body["fieldList"];
  if (!Array.isArray(list)) return undefined;
  return list.filter(isRecord).map((field) => ({
    name: typeof field["name"] === "string" ? field["name"] : "",
    message: typeof field["message"] === "string" ? field["message"] : "",
  }));
}
