import { describe, expect, it } from "vitest";
import { parseServiceError } from "../../src/appfabric/parseServiceError.js";

describe("parseServiceError reads restJson1 error answers", () => {
  it.each<{ where: string; headers: Record<string, string>; body: string; errorType: string | undefined }>([
    {
      where: "the X-Amzn-Errortype header, namespace suffix cleaned",
      headers: { "x-amzn-errortype": "ThrottlingException:http://internal.amazon.com/coral/com.amazonaws.appfabric/" },
      body: "{}",
      errorType: "ThrottlingException",
    },
    {
      where: "a shape-id __type, namespace and suffix cleaned",
      headers: {},
      body: '{"__type":"aws.protocols#ValidationException:http://internal.amazon.com/"}',
      errorType: "ValidationException",
    },
    { where: "a body code", headers: {}, body: '{"code":"AccessDeniedException"}', errorType: "AccessDeniedException" },
    {
      where: "the header before the body",
      headers: { "x-amzn-errortype": "InternalServerException" },
      body: '{"__type":"ValidationException","code":"AccessDeniedException"}',
      errorType: "InternalServerException",
    },
    { where: "nowhere (non-JSON body)", headers: {}, body: "<html>Bad Gateway</html>", errorType: undefined },
  ])("takes the error type from $where", ({ headers, body, errorType }) => {
    expect(parseServiceError(502, headers, body).details.errorType).toBe(errorType);
  });

  it("keeps status, request id, message and ValidationException members", () => {
    const error = parseServiceError(
      400,
      { "x-amzn-errortype": "ValidationException", "x-amzn-requestid": "req-1" },
      JSON.stringify({
        message: "1 validation error",
        reason: "fieldValidationFailed",
        fieldList: [{ name: "taskIdList", message: "Member must have length between 1 and 50" }],
      }),
    );

    expect(error.name).toBe("ValidationException");
    expect(error.$metadata).toEqual({ httpStatusCode: 400, requestId: "req-1" });
    expect(error.details).toMatchObject({
      awsMessage: "1 validation error",
      reason: "fieldValidationFailed",
      fieldList: [{ name: "taskIdList", message: "Member must have length between 1 and 50" }],
    });
  });

  it("keeps a ResourceNotFoundException's resource", () => {
    const error = parseServiceError(
      404,
      { "x-amzn-errortype": "ResourceNotFoundException" },
      '{"message":"nope","resourceId":"arn:x","resourceType":"AppBundle"}',
    );
    expect(error.details).toMatchObject({ resourceId: "arn:x", resourceType: "AppBundle" });
  });

  it.each([
    { header: "7", seconds: 7 },
    { header: "0", seconds: 0 },
  ])("reads Retry-After: $header as $seconds s", ({ header, seconds }) => {
    const error = parseServiceError(429, { "retry-after": header }, "{}");
    expect(error.details.retryAfterSeconds).toBe(seconds);
  });

  it("reads Retry-After as an HTTP date, to within the header's one-second precision", () => {
    const error = parseServiceError(429, { "retry-after": new Date(Date.now() + 30_000).toUTCString() }, "{}");
    expect(error.details.retryAfterSeconds).toBeGreaterThanOrEqual(29);
    expect(error.details.retryAfterSeconds).toBeLessThanOrEqual(30);
  });

  it("has no retryAfterSeconds without a Retry-After header", () => {
    expect(parseServiceError(429, {}, "{}").details.retryAfterSeconds).toBeUndefined();
  });

  it("keeps ThrottlingException's serviceCode and quotaCode (what a quota raise is asked with)", () => {
    const error = parseServiceError(
      429,
      { "x-amzn-errortype": "ThrottlingException" },
      '{"message":"Rate exceeded","serviceCode":"appfabric","quotaCode":"L-1234ABCD"}',
    );
    expect(error.details).toMatchObject({ serviceCode: "appfabric", quotaCode: "L-1234ABCD" });
  });

  it.each(["x-amzn-requestid", "x-amzn-request-id", "x-amz-request-id"])("reads the request id from %s, as smithy does", (header) => {
    expect(parseServiceError(500, { [header]: "req-7" }, "{}").details.requestId).toBe("req-7");
  });

  /**
   * smithy's restJson1 error cases (smithy-aws-protocol-tests/model/restJson1/errors.smithy), each by its
   * id: where the error's type is found and how it is cleaned, as every AWS SDK must read it.
   */
  const CORAL = "http://internal.amazon.com/coral/com.amazon.coral.validate/";
  it.each<{ id: string; status: number; headers: Record<string, string>; body: string; errorType: string | undefined; message?: string }>([
    {
      id: "RestJsonInvalidGreetingError",
      status: 400,
      headers: { "x-amzn-errortype": "InvalidGreeting" },
      body: '{"Message":"Hi"}',
      errorType: "InvalidGreeting",
      message: "Hi",
    },
    {
      id: "RestJsonComplexErrorWithNoMessage",
      status: 403,
      headers: { "x-amzn-errortype": "ComplexError", "x-header": "Header" },
      body: '{"TopLevel":"Top level","Nested":{"Fooooo":"bar"}}',
      errorType: "ComplexError",
    },
    { id: "RestJsonEmptyComplexErrorWithNoMessage", status: 403, headers: {}, body: "{}", errorType: undefined },
    { id: "RestJsonFooErrorUsingXAmznErrorType", status: 500, headers: { "x-amzn-errortype": "FooError" }, body: "", errorType: "FooError" },
    { id: "RestJsonFooErrorUsingXAmznErrorTypeWithUri", status: 500, headers: { "x-amzn-errortype": `FooError:${CORAL}` }, body: "", errorType: "FooError" },
    {
      id: "RestJsonFooErrorUsingXAmznErrorTypeWithUriAndNamespace",
      status: 500,
      headers: { "x-amzn-errortype": `aws.protocoltests.restjson#FooError:${CORAL}` },
      body: "",
      errorType: "FooError",
    },
    { id: "RestJsonFooErrorUsingCode", status: 500, headers: {}, body: '{"code":"FooError"}', errorType: "FooError" },
    { id: "RestJsonFooErrorUsingCodeAndNamespace", status: 500, headers: {}, body: '{"code":"aws.protocoltests.restjson#FooError"}', errorType: "FooError" },
    {
      id: "RestJsonFooErrorUsingCodeUriAndNamespace",
      status: 500,
      headers: {},
      body: `{"code":"aws.protocoltests.restjson#FooError:${CORAL}"}`,
      errorType: "FooError",
    },
    { id: "RestJsonFooErrorWithDunderType", status: 500, headers: {}, body: '{"__type":"FooError"}', errorType: "FooError" },
    {
      id: "RestJsonFooErrorWithDunderTypeAndNamespace",
      status: 500,
      headers: {},
      body: '{"__type":"aws.protocoltests.restjson#FooError"}',
      errorType: "FooError",
    },
    {
      id: "RestJsonFooErrorWithDunderTypeUriAndNamespace",
      status: 500,
      headers: {},
      body: `{"__type":"aws.protocoltests.restjson#FooError:${CORAL}"}`,
      errorType: "FooError",
    },
  ])("smithy $id", ({ status, headers, body, errorType, message }) => {
    const { details } = parseServiceError(status, { "content-type": "application/json", ...headers }, body);
    expect(details.statusCode).toBe(status);
    expect(details.errorType).toBe(errorType);
    if (message !== undefined) expect(details.awsMessage).toBe(message);
  });
});
