import { isThrottlingError, isTransientError } from "@smithy/core/retry";
import { GraphQLError } from "graphql";
import {
  AppFabricServiceError,
  AppFabricTransportError,
  CredentialsUnavailableError,
  HeldByFleetError,
  isSigningError,
  OverloadedError,
  TaskNotFoundError,
  type AppFabricServiceErrorDetails,
  type ResponseMetadata,
} from "../appfabric/errors.js";
import { RateLimitedError } from "./RateLimitedError.js";
import { ErrorCode } from "./ErrorCode.js";
import { redactSensitive } from "./redactSensitive.js";
import { taskNotFoundError } from "./taskErrors.js";

/** `extensions.aws`: what AWS told us about the failed call, where it told us. */
export interface AwsErrorExtension {
  errorType?: string;
  statusCode?: number;
  requestId?: string;
  /** `ThrottlingException`'s: what an operator quotes to ask AWS for a quota raise. */
  serviceCode?: string;
  quotaCode?: string;
  /** `ResourceNotFoundException`'s: what AppFabric could not find (the app bundle). */
  resourceId?: string;
  resourceType?: string;
}

/**
 * Maps anything a load can fail with to the `GraphQLError` clients see. Never throws. A
 * `GraphQLError` passes through; AppFabric failures get a code from the README's table; anything else
 * is a fault of this service and becomes `INTERNAL_SERVER_ERROR` with a message that reveals nothing.
 * Messages are written here, not copied from AWS, except a ValidationException's or a 404's message,
 * which help the caller and are redacted first. A 403's message is never forwarded: for signature
 * failures AWS quotes the canonical request, access key id included.
 */
export function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  if (error instanceof AppFabricServiceError) return serviceError(error);
  if (error instanceof AppFabricTransportError) {
    const retryable = error.failure !== "deadline" && isRetryable(error);
    return new GraphQLError(`${error.message}. Nothing was read for these ids${retryable ? "; try again" : ""}.`, {
      extensions: {
        code: ErrorCode.UPSTREAM_UNAVAILABLE,
        retryable,
        ...awsExtension(undefined, error.$metadata),
      },
    });
  }
  if (error instanceof TaskNotFoundError) return taskNotFoundError(error.taskId);
  if (error instanceof OverloadedError) {
    return new GraphQLError(`${error.message}. Try again in a few seconds.`, { extensions: { code: ErrorCode.OVERLOADED, retryable: true } });
  }
  if (error instanceof RateLimitedError) {
    return new GraphQLError(`${error.message}; try again in ${error.retryAfterSeconds} s.`, {
      extensions: { code: ErrorCode.RATE_LIMITED, retryable: true, retryAfterSeconds: error.retryAfterSeconds, reason: error.reason },
    });
  }
  if (error instanceof HeldByFleetError) {
    return new GraphQLError(`${error.message}; try again in ${error.retryAfterSeconds} s.`, {
      extensions: { code: ErrorCode.THROTTLED, retryable: true, retryAfterSeconds: error.retryAfterSeconds },
    });
  }
  if (error instanceof CredentialsUnavailableError) {
    return new GraphQLError("The service has no usable AWS credentials, so AppFabric was not called. See the service's logs.", {
      originalError: error,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
    });
  }
  // Kept as originalError so that formatError can log it; the client sees only the code.
  return new GraphQLError("Unexpected error.", {
    originalError: error instanceof Error ? error : undefined,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, retryable: false },
  });
}

function serviceError(error: AppFabricServiceError): GraphQLError {
  const { details } = error;
  const code = codeOf(error);
  const label = `HTTP ${details.statusCode}${details.errorType ? ` ${details.errorType}` : ""}`;
  const extensions: Record<string, unknown> = {
    code,
    retryable: isRetryable(error),
    ...awsExtension(details.errorType, error.$metadata, details),
  };
  let message: string;
  switch (code) {
    case ErrorCode.BAD_USER_INPUT:
      message = `AppFabric rejected the request as invalid (${label})${awsMessage(details.awsMessage)}`;
      if (details.reason !== undefined) extensions["reason"] = details.reason;
      if (details.fieldList !== undefined) {
        extensions["fieldList"] = details.fieldList.map((field) => ({ name: field.name, message: redactSensitive(field.message) }));
      }
      break;
    case ErrorCode.FORBIDDEN:
      message =
        `AppFabric refused this service's AWS credentials or permissions (${label}). ` +
        "Check its credentials and that they allow appfabric:BatchGetUserAccessTasks (and appfabric:StartUserAccessTasks to start lookups) on the app bundle.";
      break;
    case ErrorCode.NOT_FOUND:
      message = `AppFabric could not find ${details.resourceType ?? "the resource"}${
        details.resourceId ? ` ${redactSensitive(details.resourceId)}` : ""
      } (${label})${awsMessage(details.awsMessage)}`;
      break;
    case ErrorCode.THROTTLED:
      message = `AppFabric is throttling requests (${label}); try again${
        details.retryAfterSeconds !== undefined ? ` in ${details.retryAfterSeconds} s` : " later"
      }.`;
      if (details.retryAfterSeconds !== undefined) extensions["retryAfterSeconds"] = details.retryAfterSeconds;
      break;
    default:
      message = isSigningError(details.errorType)
        ? `AppFabric refused this service's request signature (${label}): a fault of this service (its AWS secret, its signing or its host's clock), not of this request. Its logs say more.`
        : `AppFabric failed to answer (${label}).`;
      if (details.retryAfterSeconds !== undefined) extensions["retryAfterSeconds"] = details.retryAfterSeconds;
  }
  return new GraphQLError(message, { extensions });
}

/** The README's error table: the error type decides where AWS named one we know, else the status. */
function codeOf(error: AppFabricServiceError): ErrorCode {
  const { errorType, statusCode } = error.details;
  // About this service's signature or clock (a 400 or a 403): its fault, not the caller's request nor its rights.
  if (isSigningError(errorType)) return ErrorCode.UPSTREAM_ERROR;
  switch (errorType) {
    case "ValidationException":
      return ErrorCode.BAD_USER_INPUT;
    case "AccessDeniedException":
      return ErrorCode.FORBIDDEN;
    case "ResourceNotFoundException":
      return ErrorCode.NOT_FOUND;
    case "InternalServerException":
      return ErrorCode.UPSTREAM_ERROR;
  }
  if (isThrottlingError(error)) return ErrorCode.THROTTLED;
  if (statusCode === 400) return ErrorCode.BAD_USER_INPUT;
  if (statusCode === 401 || statusCode === 403) return ErrorCode.FORBIDDEN;
  if (statusCode === 404) return ErrorCode.NOT_FOUND;
  return ErrorCode.UPSTREAM_ERROR;
}

/** Whether the same call may succeed if sent again: smithy's throttling or transient classes. */
function isRetryable(error: AppFabricServiceError | AppFabricTransportError): boolean {
  return isThrottlingError(error) || isTransientError(error);
}

function awsExtension(
  errorType: string | undefined,
  metadata: ResponseMetadata,
  members: Pick<AppFabricServiceErrorDetails, "serviceCode" | "quotaCode" | "resourceId" | "resourceType"> = {},
): { aws?: AwsErrorExtension } {
  const aws: AwsErrorExtension = {};
  if (errorType !== undefined) aws.errorType = errorType;
  if (metadata.httpStatusCode !== undefined) aws.statusCode = metadata.httpStatusCode;
  if (metadata.requestId !== undefined) aws.requestId = metadata.requestId;
  // Codes and identifiers AWS names, never text it wrote (redacted all the same: an id is the caller's echo at worst).
  for (const key of ["serviceCode", "quotaCode", "resourceId", "resourceType"] as const) {
    const value = members[key];
    if (value !== undefined) aws[key] = redactSensitive(value);
  }
  return Object.keys(aws).length > 0 ? { aws } : {};
}

function awsMessage(message: string | undefined): string {
  return message ? `: ${redactSensitive(message)}` : ".";
}
