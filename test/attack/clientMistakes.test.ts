import { createHash } from "node:crypto";
import { connect } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }";
const EMAIL_AS_DATA = "jordan.rivers@example.com";
/** Sends raw bytes and returns everything the server answered before closing. */
async function rawRequest(url: URL, bytes: string): Promise<string> {
  const socket = connect(Number(url.port), url.hostname);
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", () => undefined);
  socket.write(bytes);
  await new Promise((resolve) => socket.once("close", resolve));
  return received;
}

type Answer = { data?: { _entities?: unknown[] } | null; errors?: Array<{ message: string; path?: unknown[]; extensions: Record<string, unknown> }> };

/**
 * Class 7: a caller's mistake gets a client code at its own place, is logged below `error`, and no
 * client text reaches the logs.
 */
describe("client mistakes are the client's", () => {
  let harness: AttackHarness;
  let headers: Record<string, string>;
  beforeAll(async () => {
    harness = await startAttackHarness();
    headers = await harness.credentials();
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  const ask = async (body: unknown) => {
    const response = await harness.send("/", postInit(body, headers));
    return { status: response.status, body: JSON.parse(response.text) as Answer };
  };
  const good = syntheticTaskId(1);

  it.each([
    { what: "a numeric taskId", representation: { __typename: "UserAccessTask", taskId: 5 } },
    { what: "no taskId", representation: { __typename: "UserAccessTask" } },
    { what: "a null taskId", representation: { __typename: "UserAccessTask", taskId: null } },
    { what: "an object taskId", representation: { __typename: "UserAccessTask", taskId: { id: good } } },
    { what: "an unknown __typename holding an email", representation: { __typename: EMAIL_AS_DATA, taskId: good } },
    { what: "no __typename", representation: { taskId: good } },
    { what: "a string instead of an object", representation: EMAIL_AS_DATA },
    { what: "a list instead of an object", representation: [good] },
  ])("answers a representation with $what as BAD_USER_INPUT at its own index, and its neighbours", async ({ representation }) => {
    const answer = await ask({
      query: ENTITIES,
      variables: { r: [{ __typename: "UserAccessTask", taskId: good }, representation, { __typename: "UserAccessTask", taskId: good.toUpperCase() }] },
    });
    expect(answer.body.data?._entities).toEqual([{ taskId: good }, null, { taskId: good }]);
    expect(answer.body.errors).toHaveLength(1);
    expect(answer.body.errors?.[0]).toMatchObject({ path: ["_entities", 1], extensions: { code: "BAD_USER_INPUT" } });
    expect(JSON.stringify(answer.body)).not.toContain(EMAIL_AS_DATA);
    expect(harness.emulator.calls.map((call) => call.taskIdList)).toEqual([[good]]);
  });

  it.each([
    {
      what: "a persisted-query hash that does not match its query",
      body: { query: "{ __typename }", extensions: { persistedQuery: { version: 1, sha256Hash: createHash("sha256").update("{ other }").digest("hex") } } },
    },
    {
      what: "an unknown persisted-query version",
      body: { query: "{ __typename }", extensions: { persistedQuery: { version: 9, sha256Hash: "0".repeat(64) } } },
    },
    { what: "a subscription over HTTP", body: { query: `subscription { userAccessTasksUpdated(ids: ["${good}"]) { taskId } }` } },
    { what: "no query at all", body: { variables: {} } },
    { what: "a query that is not a string", body: { query: { a: 1 } } },
    { what: "variables that are not an object", body: { query: "{ __typename }", variables: [1] } },
  ])("answers $what with 400 BAD_REQUEST, not INTERNAL_SERVER_ERROR", async ({ body }) => {
    const answer = await ask(body);
    expect(answer.status).toBe(400);
    expect(answer.body.errors?.[0]?.extensions["code"]).toBe("BAD_REQUEST");
  });

  it.each([
    { what: "HTTP/1.0 without a Host header", head: "POST / HTTP/1.0\r\n" },
    { what: "an empty Host", head: "POST / HTTP/1.1\r\nhost: \r\n" },
    { what: "HTTP/1.1 without a Host header", head: "POST / HTTP/1.1\r\n" },
    { what: "a Host with a space", head: "POST / HTTP/1.1\r\nhost: a b\r\n" },
    { what: "a Host of a lone bracket", head: "POST / HTTP/1.1\r\nhost: [\r\n" },
    { what: "a Host of a percent sign", head: "POST / HTTP/1.1\r\nhost: %\r\n" },
  ])("answers $what with 400, not a 500 with a stack", async ({ head }) => {
    const answer = await rawRequest(
      harness.service.url,
      `${head}content-type: application/json\r\ncontent-length: 24\r\nconnection: close\r\n\r\n{"query":"{__typename}"}`,
    );
    expect(answer).toMatch(/^HTTP\/1\.[01] 400/);
    expect(answer).toContain('"code":"BAD_REQUEST"');
  });

  it("logged none of these above info, and never the caller's text", () => {
    expect(harness.errorLines()).toEqual([]);
    expect(harness.logs.lines().filter((line) => Number(line["level"]) >= 40)).toEqual([]);
    expect(harness.logs.text()).not.toContain(EMAIL_AS_DATA);
  });
});
