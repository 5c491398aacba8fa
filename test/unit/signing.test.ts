import { describe, expect, it } from "vitest";
import { createSigner, signedHeaders } from "../../src/appfabric/createSignedTransport.js";

/**
 * Known answers from AWS's published Signature Version 4 test suite (the vectors smithy's own suite
 * runs), so that the way this client builds and signs a request is checked against AWS's figures,
 * not only by the emulator's verifier, which uses the same library. The suite signs for a service
 * named `service`, without `x-amz-content-sha256`; the client's own setting adds that header.
 */
const SUITE = {
  region: "us-east-1",
  service: "service",
  credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" },
  signingDate: new Date("2015-08-30T12:36:00Z"),
  url: new URL("https://example.amazonaws.com/"),
};
const SESSION_TOKEN =
  "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

describe("SigV4 signing, against AWS's test suite", () => {
  it.each([
    {
      vector: "post-vanilla",
      body: "",
      contentType: undefined,
      credentials: SUITE.credentials,
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
    },
    {
      vector: "post-x-www-form-urlencoded",
      body: "Param1=value1",
      contentType: "application/x-www-form-urlencoded",
      credentials: SUITE.credentials,
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a",
    },
    {
      vector: "post-sts-header-before (a session token)",
      body: "",
      contentType: undefined,
      credentials: { ...SUITE.credentials, sessionToken: SESSION_TOKEN },
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
    },
  ])("signs $vector as AWS does", async ({ body, contentType, credentials, authorization }) => {
    const signer = createSigner({ region: SUITE.region, service: SUITE.service, credentials, applyChecksum: false });
    const headers = await signedHeaders(signer, { url: SUITE.url, body, contentType, signingDate: SUITE.signingDate });
    expect(headers["authorization"]).toBe(authorization);
    expect(headers["x-amz-date"]).toBe("20150830T123600Z");
  });

  it("signs for appfabric with the payload's hash, as the client sends it", async () => {
    const signer = createSigner({ region: SUITE.region, credentials: SUITE.credentials });
    const headers = await signedHeaders(signer, { url: SUITE.url, body: "{}", contentType: "application/json", signingDate: SUITE.signingDate });
    expect(headers["authorization"]).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20150830\/us-east-1\/appfabric\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    // SHA-256 of "{}".
    expect(headers["x-amz-content-sha256"]).toBe("44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  });
});
