import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { testConfig } from "../support/testConfig.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

/** Addresses in the forms RFC 5322 allows, which a naive pattern misses. */
const ADDRESSES = [
  { form: "a comment in the local part", address: "jordan(rivers)@example.com" },
  { form: "a quoted local part with a space", address: '"jordan rivers"@example.com' },
  { form: "a plus tag and a two-level domain", address: "jordan+tag@example.co.uk" },
  { form: "an address literal", address: "jordan@[192.0.2.1]" },
  { form: "angle brackets", address: "<jordan@example.com>" },
  { form: "upper case", address: "JORDAN@EXAMPLE.COM" },
];
const LEAK = /jordan|rivers/i;

/**
 * Class 8: no response, log line or metric label carries a value the caller sent as personal data;
 * operation-name labels cannot be exhausted or used to carry data.
 */
describe("nothing the caller sent as personal data comes back out", () => {
  let harness: AttackHarness;
  let headers: Record<string, string>;
  beforeAll(async () => {
    harness = await startAttackHarness({ config: { ...testConfig(), metricsOperationNames: ["TaskStatus"] } });
    headers = await harness.credentials();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const ask = async (body: unknown) => (await harness.send("/", postInit(body, headers))).text;
  const START = "mutation($email: String!) { startUserAccessTasks(email: $email) { taskId } }";

  it.each([
    { what: "an email given as an object", variables: { email: { address: "jordan.rivers@example.com" } } },
    { what: "an email given as a list", variables: { email: ["jordan.rivers@example.com"] } },
    { what: "an email given as a number-like key", variables: { email: { "jordan.rivers@example.com": 1 } } },
  ])("does not echo $what in a coercion error", async ({ variables }) => {
    const text = await ask({ query: START, variables });
    expect(text).toContain('Variable \\"$email\\" got an invalid value: expected String!');
    expect(text).not.toMatch(LEAK);
  });

  it.each([
    { what: "an object literal", query: 'mutation { startUserAccessTasks(email: { address: "jordan.rivers@example.com" }) { taskId } }' },
    { what: "an enum-like literal", query: "mutation { startUserAccessTasks(email: jordan_rivers) { taskId } }" },
    { what: "an id list of objects", query: '{ userAccessTasks(ids: [{ email: "jordan.rivers@example.com" }]) { taskId } }' },
  ])("does not echo $what in a validation error", async ({ query }) => {
    expect(await ask({ query })).not.toMatch(LEAK);
  });

  it.each(ADDRESSES)("redacts an address with $form from an AWS 400 message before the caller or the logs see it", async ({ address }) => {
    harness.emulator.injectFault({
      fault: { kind: "error", status: 400, errorType: "ValidationException", message: `Value ${address} at 'email' failed to satisfy constraint` },
    });
    const text = await ask({ query: START, variables: { email: "someone@example.org" } });
    expect(text).toContain("ValidationException");
    expect(text).not.toMatch(LEAK);
    expect(harness.logs.text()).not.toMatch(LEAK);
  });

  it("keeps a long or odd operation name out of the logs, and every unlisted name out of the metric labels", async () => {
    const names = ["TaskStatus", "jordan_rivers_example_com", `A${"x".repeat(5_000)}`, ...Array.from({ length: 150 }, (_, n) => `Flood${n}`)];
    for (const name of names) await ask({ query: `query ${name} { userAccessTask(id: "${syntheticTaskId(1)}") { taskId } }`, operationName: name });
    const metrics = (await harness.send("/metrics")).text;
    const labels = [...metrics.matchAll(/graphql_operations_total\{operation_name="([^"]*)"/g)].map((match) => match[1]);
    expect(new Set(labels)).toEqual(new Set(["TaskStatus", "(other)", "(anonymous)"])); // anonymous: the earlier tests' operations
    const logged = harness.logs
      .lines()
      .filter((line) => line["msg"] === "operation")
      .map((line) => String(line["operationName"]));
    expect(logged).toContain("(invalid)");
    expect(logged.every((name) => name.length <= 64)).toBe(true);
  });

  it("does not repeat a string the parser did not expect", async () => {
    const text = await ask({ query: '{ userAccessTask(id: "x") { taskId } "Jordan Rivers" }' });
    expect(text).toContain("Syntax Error");
    expect(text).not.toMatch(LEAK);
  });

  it("does not repeat an operationName that names no operation", async () => {
    const text = await ask({ query: "{ __typename }", operationName: "Jordan Rivers" });
    expect(text).toContain("names an operation the document does not define");
    expect(text).not.toMatch(LEAK);
  });

  it("does not reflect the path of an unknown route", async () => {
    const response = await harness.send("/jordan.rivers@example.com/%3Cscript%3E");
    expect(response.status).toBe(404);
    expect(response.text).not.toMatch(LEAK);
    expect(response.text).not.toContain("script");
  });
});
