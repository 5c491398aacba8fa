import type { Clock } from "../lib/Clock.js";
import { createHash, timingSafeEqual } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentity } from "@smithy/types";
import { SIGNING_SERVICE } from "../appfabric/constants.js";

/** What the emulator knows of a received request. Header names are lower-case. */
export interface ReceivedRequest {
  method: string;
  /** Host-relative: path and query. */
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface SignatureRejection {
  errorType: "MissingAuthenticationTokenException" | "UnrecognizedClientException" | "InvalidSignatureException" | "IncompleteSignatureException";
  message: string;
}

export interface VerifySignatureOptions {
  region: string;
  /** The secret for an access key id, or undefined for a key the emulator does not know. */
  credentialsFor: (accessKeyId: string) => AwsCredentialIdentity | undefined;
  now: Clock;
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/\s]+)\/(\d{8})\/([^/\s]+)\/([^/\s]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** AWS's answer for a key it does not know, and for a session token the key was not issued with. */
const UNRECOGNIZED_CLIENT: SignatureRejection = { errorType: "UnrecognizedClientException", message: "The security token included in the request is invalid." };
/** AWS rejects a signature more than five minutes away from its clock. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/**
 * Checks a SigV4 `Authorization` header as AWS does: known key and its session token, scope (date, region, service), clock
 * skew, the declared payload hash against the body, then the signature itself, recomputed with smithy's signer over exactly the headers the client
 * said it signed. Returns `undefined` when the request is authentic.
 */
export async function verifySignature(request: ReceivedRequest, options: VerifySignatureOptions): Promise<SignatureRejection | undefined> {
  const authorization = request.headers["authorization"];
  if (authorization === undefined) return { errorType: "MissingAuthenticationTokenException", message: "Missing Authentication Token" };
  const match = AUTHORIZATION.exec(authorization);
  // A header that is not a whole SigV4 one (another scheme, a missing part) is incomplete, not wrong: AWS's IncompleteSignature.
  if (match === null) {
    return {
      errorType: "IncompleteSignatureException",
      message:
        "The request signature does not conform to AWS standards: the Authorization header requires Credential, SignedHeaders and Signature in AWS4-HMAC-SHA256 form.",
    };
  }
  const [, accessKeyId = "", scopeDate, scopeRegion, scopeService, signedHeaderList = "", signature = ""] = match;

  const credentials = options.credentialsFor(accessKeyId);
  if (credentials === undefined) return UNRECOGNIZED_CLIENT;
  // A session token must be the one issued with the key, and none for a long-term key, as AWS checks.
  if (request.headers["x-amz-security-token"] !== credentials.sessionToken) {
    return UNRECOGNIZED_CLIENT;
  }
  if (scopeService !== SIGNING_SERVICE) {
    return { errorType: "InvalidSignatureException", message: `Credential should be scoped to correct service: '${SIGNING_SERVICE}'.` };
  }
  if (scopeRegion !== options.region) {
    return { errorType: "InvalidSignatureException", message: `Credential should be scoped to a valid region, not '${scopeRegion}'.` };
  }

  const signingDate = parseAmzDate(request.headers["x-amz-date"]);
  if (
    signingDate === undefined ||
    !signingDate
      .toISOString()
      .replaceAll("-", "")
      .startsWith(scopeDate ?? "")
  ) {
    return {
      errorType: "IncompleteSignatureException",
      message: "The request signature does not conform to AWS standards: X-Amz-Date is missing, malformed, or does not match the credential scope date.",
    };
  }
  // AWS's two wordings: a signature from the past has expired, one from the future is not yet current.
  const skewMs = signingDate.getTime() - options.now();
  if (skewMs < -MAX_CLOCK_SKEW_MS) {
    return { errorType: "InvalidSignatureException", message: "Signature expired: the request time is more than 5 minutes earlier than the server time." };
  }
  if (skewMs > MAX_CLOCK_SKEW_MS) {
    return {
      errorType: "InvalidSignatureException",
      message: "Signature not yet current: the request time is more than 5 minutes later than the server time.",
    };
  }

  // smithy's signer takes this header as the payload hash when present, so the body must match it.
  const declaredPayloadHash = request.headers["x-amz-content-sha256"];
  if (declaredPayloadHash !== undefined && declaredPayloadHash !== createHash("sha256").update(request.body).digest("hex")) {
    return { errorType: "InvalidSignatureException", message: "The provided 'x-amz-content-sha256' header does not match what was computed." };
  }

  const signedHeaderNames = signedHeaderList.split(";");
  if (!signedHeaderNames.includes("host")) {
    return { errorType: "IncompleteSignatureException", message: "The request signature does not conform to AWS standards: 'Host' must be a signed header." };
  }
  const expected = await expectedSignature(request, signedHeaderNames, credentials, options.region, signingDate);
  if (expected === undefined || !sameText(expected, signature)) {
    return {
      errorType: "InvalidSignatureException",
      // Worded like AWS's answer, which also quotes the credential: the service must never forward it.
      message:
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key " +
        `and signing method. Credential=${accessKeyId}/${scopeDate}/${scopeRegion}/${scopeService}/aws4_request Signature=${signature}`,
    };
  }
  return undefined;
}

async function expectedSignature(
  request: ReceivedRequest,
  signedHeaderNames: string[],
  credentials: AwsCredentialIdentity,
  region: string,
  signingDate: Date,
): Promise<string | undefined> {
  const url = new URL(request.path, "http://emulator.invalid");
  const headers: Record<string, string> = {};
  for (const name of signedHeaderNames) {
    const value = request.headers[name];
    if (value === undefined) return undefined;
    headers[name] = value;
  }
  // applyChecksum off: smithy would otherwise add an `x-amz-content-sha256` header of its own and sign
  // it, while botocore, the AWS CLI and AWS's SigV4 test suite send none (the payload is hashed either way).
  const signer = new SignatureV4({ service: SIGNING_SERVICE, region, credentials, sha256: Hash.bind(null, "sha256"), applyChecksum: false });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: url.hostname,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: request.body,
    },
    // Only what the client listed is signed again, even headers smithy would skip by default.
    { signingDate, signableHeaders: new Set(signedHeaderNames) },
  );
  return /Signature=([0-9a-f]{64})$/.exec(signed.headers["authorization"] ?? "")?.[1];
}

function parseAmzDate(value: string | undefined): Date | undefined {
  const parts = value === undefined ? null : AMZ_DATE.exec(value);
  if (!parts) return undefined;
  const [, year, month, day, hour, minute, second] = parts.map(Number);
  return new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour, minute, second));
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
