import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

/**
 * Class 4: what a request costs is bounded by what it lists. Each of these lists far more ids than
 * MAX_TASK_IDS_PER_OPERATION (500) in a body under MAX_REQUEST_BYTES, through duplicates, malformed
 * ids, aliases, fragments or entity references; each must be refused whole, with one small error and
 * no AppFabric call. (The event-loop delay and /health latency under a flood of them are measured by
 * `npm run test:attack`, not asserted here.)
 */
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
  const shapes: Array<{ what: string; body: unknown }> = [
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
      what: "1,000 entity references, all the same",
      body: {
        query: "query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }",
        variables: { r: Array(1_000).fill({ __typename: "UserAccessTask", taskId: valid }) },
      },
    },
    {
      what: "entity references of another type",
      body: { query: "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }", variables: { r: Array(4_000).fill({ __typename: "Nope" }) } },
    },
  ];

  it.each(shapes)("refuses $what with one small error and no call", async ({ body }) => {
    const text = JSON.stringify(body);
    expect(text.length).toBeLessThan(100 * 1024);
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

  it("refuses a literal list too long for the parser before it is parsed in full", async () => {
    const literal = Array(3_000).fill('"x"').join(",");
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
