import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { AppFabricServiceError, AppFabricTransportError, CredentialsUnavailableError, type AppFabricServiceErrorDetails } from "../../src/appfabric/errors.js";
import { toGraphQLError } from "../../src/errors/toGraphQLError.js";

const service = (details: Partial<AppFabricServiceErrorDetails> & { statusCode: number }) => new AppFabricServiceError({ requestId: "req-9", ...details });

describe("toGraphQLError maps every AppFabric outcome to one code", () => {
  it.each([
    { outcome: "ValidationException", error: service({ statusCode: 400, errorType: "ValidationException" }), code: "BAD_USER_INPUT", retryable: false },
    { outcome: "an untyped 400", error: service({ statusCode: 400 }), code: "BAD_USER_INPUT", retryable: false },
    { outcome: "AccessDeniedException", error: service({ statusCode: 403, errorType: "AccessDeniedException" }), code: "FORBIDDEN", retryable: false },
    // About this service's signature or clock: its fault, never the caller's request or rights.
    {
      outcome: "InvalidSignatureException",
      error: service({ statusCode: 403, errorType: "InvalidSignatureException" }),
      code: "UPSTREAM_ERROR",
      retryable: false,
    },
    { outcome: "IncompleteSignature (a 400)", error: service({ statusCode: 400, errorType: "IncompleteSignature" }), code: "UPSTREAM_ERROR", retryable: false },
    { outcome: "RequestExpired (a 400)", error: service({ statusCode: 400, errorType: "RequestExpired" }), code: "UPSTREAM_ERROR", retryable: false },
    {
      outcome: "UnrecognizedClientException",
      error: service({ statusCode: 403, errorType: "UnrecognizedClientException" }),
      code: "FORBIDDEN",
      retryable: false,
    },
    { outcome: "ExpiredTokenException", error: service({ statusCode: 403, errorType: "ExpiredTokenException" }), code: "FORBIDDEN", retryable: false },
    { outcome: "ResourceNotFoundException", error: service({ statusCode: 404, errorType: "ResourceNotFoundException" }), code: "NOT_FOUND", retryable: false },
    { outcome: "ThrottlingException", error: service({ statusCode: 429, errorType: "ThrottlingException" }), code: "THROTTLED", retryable: true },
    { outcome: "an untyped 429", error: service({ statusCode: 429 }), code: "THROTTLED", retryable: true },
    { outcome: "a throttling type on a 400", error: service({ statusCode: 400, errorType: "TooManyRequestsException" }), code: "THROTTLED", retryable: true },
    { outcome: "InternalServerException", error: service({ statusCode: 500, errorType: "InternalServerException" }), code: "UPSTREAM_ERROR", retryable: true },
    { outcome: "an untyped 502", error: service({ statusCode: 502 }), code: "UPSTREAM_ERROR", retryable: true },
    { outcome: "a 501", error: service({ statusCode: 501 }), code: "UPSTREAM_ERROR", retryable: false },
    { outcome: "an unexpected 409", error: service({ statusCode: 409, errorType: "ConflictException" }), code: "UPSTREAM_ERROR", retryable: false },
    {
      outcome: "a timeout",
      error: new AppFabricTransportError("timeout", "timed out", { cause: new DOMException("t", "TimeoutError") }),
      code: "UPSTREAM_UNAVAILABLE",
      retryable: true,
    },
    {
      outcome: "a reset connection",
      error: new AppFabricTransportError("connection", "reset", { code: "ECONNRESET" }),
      code: "UPSTREAM_UNAVAILABLE",
      retryable: true,
    },
    {
      outcome: "a refused connection (code on the cause)",
      error: new AppFabricTransportError("connection", "refused", { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) }),
      code: "UPSTREAM_UNAVAILABLE",
      retryable: true,
    },
    { outcome: "an unreadable body", error: new AppFabricTransportError("unreadable", "not JSON"), code: "UPSTREAM_UNAVAILABLE", retryable: false },
    {
      outcome: "missing credentials",
      error: new CredentialsUnavailableError(new Error("Could not load credentials")),
      code: "INTERNAL_SERVER_ERROR",
      retryable: false,
    },
    { outcome: "a bug of this service", error: new TypeError("x is undefined"), code: "INTERNAL_SERVER_ERROR", retryable: false },
    { outcome: "a thrown non-Error", error: "oops", code: "INTERNAL_SERVER_ERROR", retryable: false },
  ])("$outcome → $code (retryable: $retryable)", ({ error, code, retryable }) => {
    const mapped = toGraphQLError(error);
    expect(mapped).toBeInstanceOf(GraphQLError);
    expect(mapped.extensions).toMatchObject({ code, retryable });
  });

  it("carries extensions.aws with what AWS gave", () => {
    const mapped = toGraphQLError(service({ statusCode: 500, errorType: "InternalServerException" }));
    expect(mapped.extensions["aws"]).toEqual({ errorType: "InternalServerException", statusCode: 500, requestId: "req-9" });
  });

  it("leaves out of extensions.aws what AWS did not give", () => {
    const mapped = toGraphQLError(new AppFabricServiceError({ statusCode: 502 }));
    expect(mapped.extensions["aws"]).toEqual({ statusCode: 502 });
    expect(toGraphQLError(new AppFabricTransportError("timeout", "t")).extensions).not.toHaveProperty("aws");
  });

  it("adds reason and fieldList to BAD_USER_INPUT", () => {
    const mapped = toGraphQLError(
      service({ statusCode: 400, errorType: "ValidationException", reason: "fieldValidationFailed", fieldList: [{ name: "taskIdList", message: "too long" }] }),
    );
    expect(mapped.extensions).toMatchObject({ reason: "fieldValidationFailed", fieldList: [{ name: "taskIdList", message: "too long" }] });
  });

  it("puts ThrottlingException's serviceCode and quotaCode, and ResourceNotFoundException's resourceId and resourceType, in extensions.aws", () => {
    expect(
      toGraphQLError(service({ statusCode: 429, errorType: "ThrottlingException", serviceCode: "appfabric", quotaCode: "L-1234ABCD" })).extensions["aws"],
    ).toEqual({
      errorType: "ThrottlingException",
      statusCode: 429,
      requestId: "req-9",
      serviceCode: "appfabric",
      quotaCode: "L-1234ABCD",
    });
    expect(
      toGraphQLError(
        service({
          statusCode: 404,
          errorType: "ResourceNotFoundException",
          resourceId: "arn:aws:appfabric:us-east-1:1:appbundle/x",
          resourceType: "AppBundle",
        }),
      ).extensions["aws"],
    ).toMatchObject({ resourceId: "arn:aws:appfabric:us-east-1:1:appbundle/x", resourceType: "AppBundle" });
  });

  it("adds retryAfterSeconds to THROTTLED when AWS sent it, and only then", () => {
    expect(toGraphQLError(service({ statusCode: 429, retryAfterSeconds: 3 })).extensions["retryAfterSeconds"]).toBe(3);
    expect(toGraphQLError(service({ statusCode: 429 })).extensions).not.toHaveProperty("retryAfterSeconds");
  });

  it("never forwards a 403's AWS message, which quotes the credential and signature", () => {
    const awsMessage =
      "The request signature we calculated does not match. Credential=AKIAIOSFODNN7EXAMPLE/20261121/us-east-1/appfabric/aws4_request Signature=" +
      "a".repeat(64);
    const mapped = toGraphQLError(service({ statusCode: 403, errorType: "InvalidSignatureException", awsMessage }));
    expect(mapped.message).not.toContain("AKIAIOSFODNN7EXAMPLE");
    expect(mapped.message).not.toContain("a".repeat(64));
  });

  it("redacts emails, access keys and signatures from the AWS messages it does forward", () => {
    const mapped = toGraphQLError(
      service({
        statusCode: 400,
        errorType: "ValidationException",
        awsMessage: "email jordan.rivers@example.com is invalid for key ASIAIOSFODNN7EXAMPLE",
        fieldList: [{ name: "email", message: "jordan.rivers@example.com is not allowed" }],
      }),
    );
    const text = JSON.stringify({ message: mapped.message, extensions: mapped.extensions });
    expect(text).not.toContain("jordan.rivers@example.com");
    expect(text).not.toContain("ASIAIOSFODNN7EXAMPLE");
    expect(text).toContain("[email redacted]");
  });

  it("reveals nothing of an unexpected error but keeps it as originalError for the log", () => {
    const bug = new Error("secret internals");
    const mapped = toGraphQLError(bug);
    expect(mapped.message).toBe("Unexpected error.");
    expect(mapped.originalError).toBe(bug);
  });

  it("passes a GraphQLError through unchanged", () => {
    const error = new GraphQLError("already mapped", { extensions: { code: "NOT_FOUND" } });
    expect(toGraphQLError(error)).toBe(error);
  });
});
