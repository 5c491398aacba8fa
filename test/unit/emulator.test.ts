import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";
import { describe, expect, it } from "vitest";
import { EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { parseBody, validateBatchGetRequest as validateParsed } from "../../src/emulator/validateRequests.js";
import { verifySignature, type ReceivedRequest } from "../../src/emulator/verifySignature.js";

const NOW = new Date("2026-11-21T12:00:00Z");
const validateBatchGetRequest = (text: string) => validateParsed(parseBody(text));
const BODY = JSON.stringify({ appBundleIdentifier: "a1b2c3d4-0000-4000-8000-00000000b0d1", taskIdList: ["3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21"] });

async function signed(
  options: { credentials?: AwsCredentialIdentity; region?: string; service?: string; date?: Date; applyChecksum?: boolean } = {},
): Promise<ReceivedRequest> {
  const signer = new SignatureV4({
    applyChecksum: options.applyChecksum ?? true,
    service: options.service ?? "appfabric",
    region: options.region ?? "us-east-1",
    credentials: options.credentials ?? EMULATOR_CREDENTIALS,
    sha256: Hash.bind(null, "sha256"),
  });
  const request = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: "127.0.0.1",
      port: 8080,
      path: "/useraccess/batchget",
      query: {},
      headers: { host: "127.0.0.1:8080", "content-type": "application/json" },
      body: BODY,
    },
    { signingDate: options.date ?? NOW },
  );
  return { method: "POST", path: "/useraccess/batchget", headers: request.headers, body: BODY };
}

const verify = (request: ReceivedRequest) =>
  verifySignature(request, {
    region: "us-east-1",
    credentialsFor: (id) => (id === EMULATOR_CREDENTIALS.accessKeyId ? EMULATOR_CREDENTIALS : undefined),
    now: () => NOW.getTime(),
  });

describe("the emulator verifies SigV4 as AWS does", () => {
  it("accepts a request signed with a key it knows", async () => {
    await expect(verify(await signed())).resolves.toBeUndefined();
  });

  it("accepts a request signed without x-amz-content-sha256, as botocore, the AWS CLI and AWS's SigV4 test suite sign", async () => {
    const request = await signed({ applyChecksum: false });
    expect(request.headers["x-amz-content-sha256"]).toBeUndefined();
    expect(request.headers["authorization"]).toContain("SignedHeaders=content-type;host;x-amz-date,");
    await expect(verify(request)).resolves.toBeUndefined();
  });

  it.each([
    {
      what: "no Authorization header",
      change: (r: ReceivedRequest) => ({ ...r, headers: { ...r.headers, authorization: undefined } as unknown as Record<string, string> }),
      errorType: "MissingAuthenticationTokenException",
    },
    { what: "a changed body", change: (r: ReceivedRequest) => ({ ...r, body: r.body.replace("3f0c", "4f0c") }), errorType: "InvalidSignatureException" },
    {
      what: "a changed signed header",
      change: (r: ReceivedRequest) => ({ ...r, headers: { ...r.headers, host: "127.0.0.1:8081" } }),
      errorType: "InvalidSignatureException",
    },
    { what: "a changed path", change: (r: ReceivedRequest) => ({ ...r, path: "/useraccess/start" }), errorType: "InvalidSignatureException" },
    // Not a whole SigV4 Authorization: AWS's IncompleteSignature, not a wrong signature.
    {
      what: "another scheme (Bearer)",
      change: (r: ReceivedRequest) => ({ ...r, headers: { ...r.headers, authorization: "Bearer abc" } }),
      errorType: "IncompleteSignatureException",
    },
    {
      what: "no Signature= part",
      change: (r: ReceivedRequest) => ({ ...r, headers: { ...r.headers, authorization: (r.headers["authorization"] ?? "").replace(/, ?Signature=.*$/, "") } }),
      errorType: "IncompleteSignatureException",
    },
    {
      what: "no X-Amz-Date",
      change: (r: ReceivedRequest) => ({ ...r, headers: { ...r.headers, "x-amz-date": undefined } as unknown as Record<string, string> }),
      errorType: "IncompleteSignatureException",
    },
  ])("rejects $what", async ({ change, errorType }) => {
    await expect(verify(change(await signed()))).resolves.toMatchObject({ errorType });
  });

  it.each([
    { what: "an unknown key", options: { credentials: { accessKeyId: "AKIAOTHER", secretAccessKey: "x" } }, errorType: "UnrecognizedClientException" },
    { what: "the wrong secret", options: { credentials: { ...EMULATOR_CREDENTIALS, secretAccessKey: "wrong" } }, errorType: "InvalidSignatureException" },
    {
      what: "a made-up session token",
      options: { credentials: { ...EMULATOR_CREDENTIALS, sessionToken: "made-up" } },
      errorType: "UnrecognizedClientException",
    },
    { what: "another region", options: { region: "eu-west-1" }, errorType: "InvalidSignatureException" },
    { what: "another service", options: { service: "s3" }, errorType: "InvalidSignatureException" },
    { what: "a signature older than five minutes", options: { date: new Date(NOW.getTime() - 6 * 60_000) }, errorType: "InvalidSignatureException" },
  ])("rejects $what", async ({ options, errorType }) => {
    await expect(verify(await signed(options))).resolves.toMatchObject({ errorType });
  });

  it("says a signature from the past has expired, and one from the future is not yet current, as AWS words them", async () => {
    await expect(verify(await signed({ date: new Date(NOW.getTime() - 6 * 60_000) }))).resolves.toMatchObject({
      message: expect.stringMatching(/^Signature expired/),
    });
    await expect(verify(await signed({ date: new Date(NOW.getTime() + 6 * 60_000) }))).resolves.toMatchObject({
      errorType: "InvalidSignatureException",
      message: expect.stringMatching(/^Signature not yet current/),
    });
    await expect(verify(await signed({ date: new Date(NOW.getTime() + 4 * 60_000) }))).resolves.toBeUndefined();
  });
});

describe("the emulator validates BatchGetUserAccessTasks as AWS's model does", () => {
  const ok = "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21";
  const body = (value: unknown) => JSON.stringify(value);

  it("accepts an ARN or UUID bundle and 1..50 lower-case ids", () => {
    expect(validateBatchGetRequest(body({ appBundleIdentifier: "arn:aws:appfabric:x", taskIdList: [ok] }))).toEqual({
      appBundleIdentifier: "arn:aws:appfabric:x",
      taskIdList: [ok],
    });
  });

  it.each([
    { what: "a body that is not JSON", text: "{", reason: "cannotParse", fields: undefined },
    { what: "no members", text: body({}), reason: "fieldValidationFailed", fields: ["appBundleIdentifier", "taskIdList"] },
    { what: "an empty list", text: body({ appBundleIdentifier: ok, taskIdList: [] }), reason: "fieldValidationFailed", fields: ["taskIdList"] },
    { what: "51 ids", text: body({ appBundleIdentifier: ok, taskIdList: Array(51).fill(ok) }), reason: "fieldValidationFailed", fields: ["taskIdList"] },
    {
      what: "an upper-case id",
      text: body({ appBundleIdentifier: ok, taskIdList: [ok, ok.toUpperCase()] }),
      reason: "fieldValidationFailed",
      fields: ["taskIdList.2.member"],
    },
    {
      what: "a bundle that is neither ARN nor UUID",
      text: body({ appBundleIdentifier: "bundle", taskIdList: [ok] }),
      reason: "fieldValidationFailed",
      fields: ["appBundleIdentifier"],
    },
  ])("rejects $what", ({ text, reason, fields }) => {
    const result = validateBatchGetRequest(text);
    expect(result).toMatchObject({ reason });
    if ("reason" in result) expect(result.fieldList?.map((field) => field.name)).toEqual(fields);
  });
});
