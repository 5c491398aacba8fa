import { describe, expect, it } from "vitest";
import { admitSubscription, type DocumentProfile } from "../../src/server/admission/admitSubscription.js";
import { buildSchema } from "../../src/server/buildSchema.js";
import { documentRules } from "../../src/server/createApolloServer.js";
import { CLIENT_MAX_ALIASES, type OperationLimits } from "../../src/server/operationLimits.js";

/** The admission of a WebSocket subscription, as a plain function: no socket, no server. */
const schema = buildSchema();
const limits: OperationLimits = { maxTaskIds: 3, maxRootFieldTaskIds: 3, maxAliases: CLIENT_MAX_ALIASES };
const { validationRules, maxTokens } = documentRules(limits, true);
const profile: DocumentProfile = { limits, rules: { validationRules, maxTokens } };
const WATCH = "subscription Watch($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId resultStatus } }";

function refusal(query: string, variables: Record<string, unknown> = { ids: ["t1"] }, operationName?: string) {
  const admission = admitSubscription(schema, profile, { query, variables, ...(operationName === undefined ? {} : { operationName }) });
  if (admission.ok) throw new Error("admitted");
  return admission.errors.map((error) => ({ message: error.message, code: error.extensions["code"] }));
}

describe("admitSubscription", () => {
  it("admits a valid subscription within its bounds, with its operation chosen", () => {
    const admission = admitSubscription(schema, profile, { query: WATCH, variables: { ids: ["t1", "t2", "t3"] } });
    expect(admission.ok).toBe(true);
    if (admission.ok) expect(admission.operation.name?.value).toBe("Watch");
  });

  it("refuses what HTTP refuses, with HTTP's codes, and runs nothing", () => {
    expect(refusal("subscription {")[0]?.code).toBe("GRAPHQL_PARSE_FAILED");
    expect(refusal(`{ ${"a ".repeat(maxTokens)} }`)[0]).toMatchObject({ code: "GRAPHQL_PARSE_FAILED", message: expect.stringContaining("token") });
    expect(refusal(`${WATCH} subscription Other { __typename }`)[0]?.message).toMatch(/Name the operation/);
    expect(refusal(`${WATCH}`, { ids: ["t1"] }, "Missing")[0]?.message).toMatch(/Name the operation/);
    expect(refusal("query { __typename }")[0]).toEqual({ code: "BAD_REQUEST", message: expect.stringMatching(/over HTTP/) });
    expect(refusal("subscription { nope }")[0]?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(refusal(WATCH, { ids: ["1", "2", "3", "4"] })[0]?.code).toBe("BAD_USER_INPUT");
  });

  it("refuses a conditional root field, directly or through a fragment, before graphql-js would throw on it", () => {
    const skipped = "subscription($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) @skip(if: false) { taskId } }";
    const inFragment = "subscription($ids: [ID!]!) { ...F } fragment F on Subscription { userAccessTasksUpdated(ids: $ids) @include(if: true) { taskId } }";
    for (const query of [skipped, inFragment]) expect(refusal(query)[0]?.code).toBe("GRAPHQL_VALIDATION_FAILED");
  });

  it("locates a validation error in the document, as graphql-js does", () => {
    const admission = admitSubscription(schema, profile, { query: "subscription($ids: [ID!]!) {\n  userAccessTasksUpdated(ids: $ids) { taskid }\n}" });
    expect(admission.ok).toBe(false);
    if (!admission.ok) expect(admission.errors[0]?.locations).toEqual([{ line: 2, column: 39 }]);
  });
});
