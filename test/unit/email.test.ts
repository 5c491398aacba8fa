import { describe, expect, it } from "vitest";
import { AWS_EMAIL_PATTERN, emailProblem } from "../../src/appfabric/email.js";
import { validateStartRequest } from "../../src/emulator/validateRequests.js";

const BUNDLE = "arn:aws:appfabric:us-east-1:111122223333:appbundle/a1b2c3d4-0000-4000-8000-00000000b0d1";
const emulatorRefuses = (email: string) => "reason" in validateStartRequest({ ok: true, body: { appBundleIdentifier: BUNDLE, email } });

/**
 * One email rule, AppFabric's model's (`Email`: the pattern with its anchors, at most 320), for the
 * service's check before a start and for the emulator. Cases from the issue that found the two
 * disagreeing with AWS, both ways.
 */
describe("the email rule is AppFabric's model's", () => {
  it("transcribes the Smithy model's pattern (aws-sdk-js-v3 codegen/sdk-codegen/aws-models/appfabric.json)", () => {
    expect(AWS_EMAIL_PATTERN.source).toBe("^[a-zA-Z0-9.!#$%&’*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\\.[a-zA-Z0-9-]+)*$");
  });

  it.each([
    ["a plain address", "jordan.rivers@example.com"],
    ["a host without a dot (AWS accepts it; the old check did not)", "user@localhost"],
    ["the typographic apostrophe U+2019, which the model lists", "o’brien@example.com"],
    ["every other listed symbol", "a.b!c#d$e%f&g*h+i/j=k?l^m_n`o{p|q}r~s-t@x-y.example"],
    ["exactly 320 characters", `${"a".repeat(308)}@example.com`],
  ])("accepts %s", (_what, email) => {
    expect(emailProblem(email)).toBeUndefined();
    expect(emulatorRefuses(email)).toBe(false);
  });

  it.each([
    ["an ASCII apostrophe", "o'brien@example.com", /before the "@"/],
    ["a non-ASCII local part", "josé@example.com", /before the "@"/],
    ["a space", "jordan rivers@example.com", /before the "@"/],
    ["a second @", "a@b@example.com", /before the "@"/],
    ["an underscore in the domain", "user@example_corp.com", /domain/],
    ["an address literal", "user@[192.0.2.1]", /domain/],
    ["a trailing dot", "user@example.com.", /domain/],
    ["two dots in a row in the domain", "user@example..com", /domain/],
    ["no @", "not-an-email", /no "@"/],
    ["nothing before the @", "@example.com", /before the "@"/],
    ["nothing after the @", "user@", /after the "@"/],
    ["321 characters", `${"a".repeat(309)}@example.com`, /longer than 320/],
    ["a NUL", "jordan\u0000@example.com", /before the "@"/],
    ["a zero-width space in the domain", "jordan@exa\u200bmple.com", /domain/],
  ])("refuses %s, saying which part AWS would refuse, never quoting it", (_what, email, part) => {
    const problem = emailProblem(email);
    expect(problem).toMatch(part);
    expect(problem).not.toContain(email);
    expect(emulatorRefuses(email)).toBe(true);
  });

  it("the emulator checks the model's lengths (Email: min 0, max 320): an empty address fails the pattern, a long one the length", () => {
    const fieldOf = (email: string) => {
      const result = validateStartRequest({ ok: true, body: { appBundleIdentifier: BUNDLE, email } });
      return "fieldList" in result ? result.fieldList : undefined;
    };
    expect(fieldOf("")).toEqual([{ name: "email", message: `Member must satisfy regular expression pattern: ${AWS_EMAIL_PATTERN.source}` }]);
    expect(fieldOf(`${"a".repeat(309)}@example.com`)).toEqual([{ name: "email", message: "Member must have length less than or equal to 320" }]);
  });

  it("the emulator answers AWS's ValidationException field for it", () => {
    expect(validateStartRequest({ ok: true, body: { appBundleIdentifier: BUNDLE, email: "not-an-email" } })).toEqual({
      reason: "fieldValidationFailed",
      message: "1 validation error detected",
      fieldList: [{ name: "email", message: `Member must satisfy regular expression pattern: ${AWS_EMAIL_PATTERN.source}` }],
    });
  });
});
