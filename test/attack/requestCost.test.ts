import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

/**
 * Class 4: what a request costs is bounded by what it lists. The attack harness sends the router
 * secret, as every caller behind a router does, so these are a router's requests: the ids a client
 * writes in `userAccessTask(s)` are held to MAX_TASK_IDS_PER_OPERATION (500) even so, and entity
 * references (which a router builds) to ROUTER_MAX_TASK_IDS_PER_OPERATION (5,000). Each shape lists
 * more than its bound in a body under its body limit, through duplicates, malformed ids, aliases,
 * fragments or entity references; each must be refused whole, with one small error and no AppFabric
 * call. (The event-loop delay and /health latency under a flood of them are measured by
 * `npm run test:attack`, not asserted here.)
 */
/** The defaults (README): a direct caller's body limit, and a router's. */
const MAX_REQUEST_BYTES = 100 * 1024;
const ROUTER_MAX_REQUEST_BYTES = 1024 * 1024;

describe("a small request cannot buy a large answer", () => {
  let harness: AttackHarness;
  let headers: Record<string, string>;
  beforeAll(async () => {
    harness = await startAttackHarness();
    headers = await harness.credentials();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const valid = syntheticTaskId(1);
  const shapes: Array<{ what: string; body: unknown; maxBytes?: number }> = [
    {
      what: "one malformed id 20,000 times",
      body: { query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: Array(20_000).fill("x") } },
    },
    {
      what: "one valid id 2,000 times",
      body: { query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: Array(2_000).fill(valid) } },
    },
    {
      what: "one id in two spellings of case, 2,000 times",
      body: {
        query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }",
        variables: { ids: Array.from({ length: 2_000 }, (_, n) => (n % 2 ? valid.toUpperCase() : valid)) },
      },
    },
    {
      what: "ids in a variable's default value",
      body: {
        query: `query($ids: [ID!]! = [${Array(600)
          .fill(`"${syntheticTaskId(2)}"`)
          .join(" ")}]) { userAccessTasks(ids: $ids) { taskId } }`,
      },
    },
    {
      what: "the list split over aliases and a fragment",
      body: {
        query: "query($a: [ID!]!, $b: [ID!]!) { a: userAccessTasks(ids: $a) { taskId } ...F } fragment F on Query { b: userAccessTasks(ids: $b) { taskId } }",
        variables: { a: Array(300).fill("x"), b: Array(300).fill("y") },
      },
    },
    {
      what: "5,001 entity references, all the same",
      body: {
        query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }",
        variables: { r: Array(5_001).fill({ __typename: "UserAccessTask", taskId: valid }) },
      },
      maxBytes: ROUTER_MAX_REQUEST_BYTES,
    },
    {
      what: "entity references of another type",
      body: { query: "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", variables: { r: Array(5_001).fill({ __typename: "Nope" }) } },
      maxBytes: ROUTER_MAX_REQUEST_BYTES,
    },
  ];

  it("refuses a router-sized list whose answer would be huge: 5,000 references, each with 199 aliased fields", async () => {
    const fields = Array.from({ length: 199 }, (_, i) => `f${i}: userFullName`).join(" ");
    const text = JSON.stringify({
      query: `query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { ${fields} } } }`,
      variables: { r: Array.from({ length: 5_000 }, (_, i) => ({ __typename: "UserAccessTask", taskId: syntheticTaskId(i % 150) })) },
    });
    expect(text.length).toBeLessThan(ROUTER_MAX_REQUEST_BYTES);
    // Routers ask for inline traces when GraphOS reporting is on; they must not multiply the cost either.
    const response = await harness.send("/", postInit(text, { ...headers, "apollo-federation-include-trace": "ftv1" }));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(1_000);
    expect(JSON.parse(response.text)).toMatchObject({
      errors: [{ message: expect.stringContaining("asks for 995000 fields in all"), extensions: { code: "BAD_USER_INPUT" } }],
    });
    expect(harness.emulator.calls).toEqual([]);
  });

  it("refuses a long alias, which the answer would repeat for every item and every error", async () => {
    const alias = `e${"x".repeat(95_000)}`;
    const text = JSON.stringify({
      query: `query($i: ID!) { ${alias}: userAccessTasks(ids: [${Array(500).fill("$i").join(",")}]) { taskId } }`,
      variables: { i: "not-a-uuid" },
    });
    const response = await harness.send("/", postInit(text, { ...headers, "apollo-federation-include-trace": "ftv1" }));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(1_000);
    expect(JSON.parse(response.text)).toMatchObject({
      errors: [{ message: "Aliases may be at most 64 characters long.", extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }],
    });
    expect(harness.emulator.calls).toEqual([]);
    // At 64 characters it is answered, each of the 500 errors carrying the alias once.
    const ok = JSON.stringify({
      query: `query($i: ID!) { ${"a".repeat(64)}: userAccessTasks(ids: [${Array(500).fill("$i").join(",")}]) { taskId } }`,
      variables: { i: "not-a-uuid" },
    });
    const answered = await harness.send("/", postInit(ok, headers));
    expect(answered.status).toBe(200);
    expect(answered.text.length).toBeLessThan(250_000);
  });

  it("answers _service once per operation: twenty of them would be twenty copies of the schema", async () => {
    const many = await harness.send("/", postInit({ query: `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: _service { sdl }`).join(" ")} }` }, headers));
    expect(many.status).toBe(400);
    expect(many.text.length).toBeLessThan(1_000);
    expect(JSON.parse(many.text)).toMatchObject({ errors: [{ message: expect.stringContaining("_service once"), extensions: { code: "BAD_USER_INPUT" } }] });
    const once = await harness.send("/", postInit({ query: "{ _service { sdl } }" }, headers));
    expect(once.status).toBe(200);
  });

  it.each(shapes)("refuses $what with one small error and no call", async ({ body, maxBytes = MAX_REQUEST_BYTES }) => {
    const text = JSON.stringify(body);
    expect(text.length).toBeLessThan(maxBytes);
    const response = await harness.send("/", postInit(text, headers));
    expect(response.status).toBe(400);
    expect(response.text.length).toBeLessThan(1_000);
    expect(JSON.parse(response.text)).toMatchObject({ errors: [{ extensions: { code: "BAD_USER_INPUT" } }] });
    expect(harness.emulator.calls).toEqual([]);
  });

  it("answers a list at the limit, malformed ids included, with one error per listed id and no more", async () => {
    const response = await harness.send(
      "/",
      postInit({ query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: [...Array(499).fill("x"), valid] } }, headers),
    );
    const body = JSON.parse(response.text) as { errors: unknown[]; data: { userAccessTasks: unknown[] } };
    expect(body.errors).toHaveLength(499);
    expect(body.data.userAccessTasks).toHaveLength(500);
    expect(harness.emulator.calls.map((call) => call.taskIdList)).toEqual([[valid]]);
  });

  it("refuses a literal list too long for the parser (a router's 20,000 tokens) before it is parsed in full", async () => {
    const literal = Array(21_000).fill('"x"').join(",");
    const response = await harness.send("/", postInit({ query: `{ userAccessTasks(ids: [${literal}]) { taskId } }` }, headers));
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toMatchObject({ errors: [{ extensions: { code: "GRAPHQL_PARSE_FAILED" } }] });
  });

  it("keeps its cost bounded for deeply nested variables and huge names", async () => {
    const nested = `${"[".repeat(40_000)}${"]".repeat(40_000)}`;
    const deep = await harness.send(
      "/",
      postInit(`{"query":"query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }","variables":{"ids":${nested}}}`, headers),
    );
    expect([400, 413]).toContain(deep.status);
    const name = "f".repeat(90_000);
    const huge = await harness.send("/", postInit({ query: `{ ${name} }` }, headers));
    expect(huge.status).toBe(400);
    expect(huge.text.length).toBeLessThan(2_000);
    expect(harness.emulator.calls).toEqual([]);
    expect(harness.errorLines()).toEqual([]);
  });
});
