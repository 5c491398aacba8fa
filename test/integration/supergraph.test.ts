import { composeServices } from "@apollo/composition";
import { composeServices as composeWithGuild } from "@theguild/federation-composition";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";
import { loadTypeDefs } from "../../src/server/buildSchema.js";
import { startService } from "../../src/startService.js";
import { errorAt, postGraphQL, startHarness, TASK_COUNT, type Harness } from "../support/harness.js";
import { spawnEntry, withTsx } from "../support/spawnEntry.js";
import { ACCESS_REVIEWS_TYPEDEFS, startAccessReviewsSubgraph } from "../../examples/supergraph/accessReviewsSubgraph.js";
import { startGateway, type SubgraphEndpoint } from "../../examples/supergraph/startGateway.js";
import { startHiveGateway } from "../../examples/supergraph/startHiveGateway.js";
import { productionConfig } from "../support/testConfig.js";
import { metric } from "../support/subscriptions.js";

const ids = (count: number, from = 0) => Array.from({ length: count }, (_, i) => syntheticTaskId(from + i));
const reference = (taskId: string) => ({ __typename: "UserAccessTask", taskId });
const callSizes = (harness: Harness) => harness.emulator.calls.map((call) => call.taskIdList.length).sort((a, b) => b - a);
const UNKNOWN = syntheticTaskId(TASK_COUNT + 1);

const ENTITIES = `query($representations: [_Any!]!) {
  _entities(representations: $representations) { ... on UserAccessTask { taskId app resultStatus } }
}`;
type EntitiesData = { _entities: Array<{ taskId: string; app: string } | null> };

/** A deployment with JWT verification and both scopes on: its SDL carries @authenticated and @requiresScopes. */
const WITH_SCOPES = { authenticated: true, scopes: { read: "tasks:read", start: "tasks:start" } };

describe("composition", () => {
  it("composes the SDL of a deployment with scopes, with no errors or hints, and keeps the directives in the supergraph", () => {
    const result = composeServices([
      { name: "user-access", typeDefs: loadTypeDefs(WITH_SCOPES), url: "http://user-access.example/" },
      { name: "access-reviews", typeDefs: ACCESS_REVIEWS_TYPEDEFS, url: "http://access-reviews.example/" },
    ]);
    expect(result.errors).toBeUndefined();
    expect(result.hints).toEqual([]);
    const supergraph = result.supergraphSdl ?? "";
    expect(supergraph).toMatch(/type UserAccessTask[^{]*@authenticated[^{]*@requiresScopes\(scopes: \[\["tasks:read"\]\]\)/);
    expect(supergraph).toMatch(/\): \[UserAccessTaskItem!\]![^\n]*@authenticated[^\n]*@requiresScopes\(scopes: \[\["tasks:start"\]\]\)/);
  });

  it("composes with another subgraph that references UserAccessTask by taskId, with no errors or hints", () => {
    const result = composeServices([
      { name: "user-access", typeDefs: loadTypeDefs(), url: "http://user-access.example/" },
      { name: "access-reviews", typeDefs: ACCESS_REVIEWS_TYPEDEFS, url: "http://access-reviews.example/" },
    ]);

    expect(result.errors).toBeUndefined();
    expect(result.hints).toEqual([]);
    const supergraph = result.supergraphSdl ?? "";
    expect(supergraph).toMatch(/type UserAccessTask[\s\S]*@join__type\(graph: USER_ACCESS, key: "taskId"\)/);
    expect(supergraph).toContain('email: String @join__field(graph: USER_ACCESS) @tag(name: "personal-data")');
  });
});

describe("composition with Guild's composer (Hive, Mesh Compose)", () => {
  it("composes the SDL of a deployment with scopes with no errors, keeping the directives", () => {
    const result = composeWithGuild([
      { name: "user-access", typeDefs: loadTypeDefs(WITH_SCOPES), url: "http://user-access.example/" },
      { name: "access-reviews", typeDefs: ACCESS_REVIEWS_TYPEDEFS, url: "http://access-reviews.example/" },
    ]);
    expect(result.errors).toBeUndefined();
    const supergraph = result.supergraphSdl ?? "";
    expect(supergraph).toMatch(/@requiresScopes\(scopes: \[\["tasks:read"\]\]\)/);
    expect(supergraph).toMatch(/@requiresScopes\(scopes: \[\["tasks:start"\]\]\)/);
  });

  it("composes with the access-reviews subgraph with no errors, UserAccessTask keyed by taskId", () => {
    const result = composeWithGuild([
      { name: "user-access", typeDefs: loadTypeDefs(), url: "http://user-access.example/" },
      { name: "access-reviews", typeDefs: ACCESS_REVIEWS_TYPEDEFS, url: "http://access-reviews.example/" },
    ]);

    expect(result.errors).toBeUndefined();
    const supergraph = result.supergraphSdl ?? "";
    expect(supergraph).toMatch(/type UserAccessTask[\s\S]*@join__type\(graph: USER_ACCESS, key: "taskId"\)/);
    expect(supergraph).toMatch(/email: String @join__field\(graph: USER_ACCESS\) @tag\(name: "personal-data"\)/);
  });
});

describe("entity resolution in the subgraph", () => {
  let harness: Harness;
  beforeAll(async () => {
    harness = await startHarness({ appFabric: { maxAttempts: 1 } });
  });
  afterAll(() => harness.close());
  beforeEach(() => harness.emulator.reset());

  it("resolves 75 references in one _entities call with calls of 50 and 25", async () => {
    const response = await harness.query<EntitiesData>(ENTITIES, { representations: ids(75).map(reference) });

    expect(response.errors).toBeUndefined();
    expect(response.data?._entities.map((task) => task?.taskId)).toEqual(ids(75));
    expect(callSizes(harness)).toEqual([50, 25]);
  });

  it("answers a reference AppFabric does not know with null and NOT_FOUND at [_entities, i]; its neighbours resolve", async () => {
    const [a = "", b = ""] = ids(2);
    const response = await harness.query<EntitiesData>(ENTITIES, { representations: [a, UNKNOWN, b].map(reference) });

    expect(response.data?._entities.map((task) => task?.taskId ?? null)).toEqual([a, null, b]);
    expect(response.errors).toHaveLength(1);
    expect(errorAt(response, "_entities", 1)?.extensions).toEqual({ code: "NOT_FOUND", retryable: false });
  });

  it("answers a malformed reference with BAD_USER_INPUT at its index and never sends it", async () => {
    const [a = ""] = ids(1);
    const response = await harness.query<EntitiesData>(ENTITIES, { representations: [reference("task-1"), reference(a)] });

    expect(errorAt(response, "_entities", 0)?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(response.data?._entities[1]?.taskId).toBe(a);
    expect(harness.emulator.calls.map((call) => call.taskIdList)).toEqual([[a]]);
  });

  it("maps an upstream failure for references exactly as for root fields", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "2" }, times: 1 });
    const response = await harness.query<EntitiesData>(ENTITIES, { representations: ids(3).map(reference) });

    expect(response.data?._entities).toEqual([null, null, null]);
    for (const index of [0, 1, 2]) {
      expect(errorAt(response, "_entities", index)?.extensions).toMatchObject({ code: "THROTTLED", retryable: true, retryAfterSeconds: 2 });
    }
  });

  it("shares calls between userAccessTasks and entity references in one operation", async () => {
    const response = await harness.query(
      `query($ids: [ID!]!, $representations: [_Any!]!) {
        userAccessTasks(ids: $ids) { taskId }
        _entities(representations: $representations) { ... on UserAccessTask { taskId } }
      }`,
      { ids: ids(30), representations: ids(50, 25).map(reference) },
    );

    expect(response.errors).toBeUndefined();
    // 75 distinct ids (30 + 50 with 5 in common): two calls, not one per field.
    expect(callSizes(harness)).toEqual([50, 25]);
  });

  it("serves _service { sdl } with the federation @link, also in production where introspection is off", async () => {
    const production = await startService(productionConfig());
    try {
      for (const url of [harness.service.url, production.url]) {
        const response = await postGraphQL<{ _service: { sdl: string } }>(url, "{ _service { sdl } }");
        expect(response.errors).toBeUndefined();
        expect(response.data?._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.5"');
        expect(response.data?._service.sdl).toMatch(/type UserAccessTask\s+@key\(fields: "taskId"\)/);
      }
    } finally {
      await production.stop();
    }
  });
});

/** The subgraph's ROUTER_SECRET in the supergraph tests: the gateways send it, as a router would. */
const ROUTER_SECRET = "supergraph-test-router-secret";

/** Reviews for the running supergraphs: 75 tasks; an unknown task between two known ones; 1,500 references to 150 tasks. */
const REVIEWS = [
  { id: "quarterly", title: "Q4 access review", reviewer: "Security team", taskIds: ids(75) },
  { id: "leaver", title: "Leaver check", reviewer: "IT", taskIds: [syntheticTaskId(0), UNKNOWN, syntheticTaskId(1)] },
  { id: "yearly", title: "Yearly review", reviewer: "Audit", taskIds: Array.from({ length: 10 }, () => ids(TASK_COUNT)).flat() },
  ...Array.from({ length: 30 }, (_, i) => ({ id: `team-${i}`, title: `Team ${i}`, reviewer: "Lead", taskIds: ids(2, 2 * i) })),
];

/** The two gateways the tests run, and where each puts an entity's error. */
const GATEWAYS = [
  {
    gateway: "Apollo Gateway",
    start: (subgraphs: SubgraphEndpoint[]) => startGateway(subgraphs, { routerSecret: ROUTER_SECRET }),
    notFoundAt: { path: ["accessReview", "tasks", 1], code: "NOT_FOUND" },
  },
  {
    gateway: "Hive Gateway (composed with Guild's composer)",
    start: (subgraphs: SubgraphEndpoint[]) => startHiveGateway(subgraphs, { routerSecret: ROUTER_SECRET }),
    // Hive Gateway 2.15 puts an entity's error at the field's path without the list index; the code
    // reaches the client either way. docs/supergraph.md says so.
    notFoundAt: { path: ["accessReview", "tasks", "app"], code: "NOT_FOUND" },
  },
];

describe.each(GATEWAYS)("a running supergraph: $gateway over this subgraph and access reviews", ({ start, notFoundAt }) => {
  let harness: Harness;
  let reviews: Awaited<ReturnType<typeof startAccessReviewsSubgraph>>;
  let gateway: Awaited<ReturnType<typeof start>>;

  beforeAll(async () => {
    harness = await startHarness({ config: { auth: { routerSecret: ROUTER_SECRET } } });
    reviews = await startAccessReviewsSubgraph(REVIEWS);
    gateway = await start([
      { name: "user-access", url: harness.service.url },
      { name: "access-reviews", url: reviews.url },
    ]);
  });
  afterAll(async () => {
    await gateway?.stop();
    await reviews?.stop();
    await harness?.close();
  });
  beforeEach(() => harness.emulator.reset());

  it("answers a query that crosses both subgraphs, 75 task references in calls of 50 and 25", async () => {
    const response = await postGraphQL<{ accessReview: { title: string; tasks: Array<{ taskId: string; app: string; resultStatus: string }> } }>(
      gateway.url,
      `{ accessReview(id: "quarterly") { title reviewer tasks { taskId app resultStatus } } }`,
    );

    expect(response.errors).toBeUndefined();
    expect(response.data?.accessReview.title).toBe("Q4 access review");
    expect(response.data?.accessReview.tasks.map((task) => task.taskId)).toEqual(ids(75));
    expect(response.data?.accessReview.tasks[2]).toEqual({ taskId: syntheticTaskId(2), app: "App 2", resultStatus: "FAILED" });
    expect(callSizes(harness)).toEqual([50, 25]);
  });

  // The reference object belongs to the access-reviews subgraph, so the gateway keeps it and nulls
  // the fields this subgraph could not resolve; the error says why.
  it("answers a task AppFabric does not know with null fields and NOT_FOUND; the review and other tasks answer", async () => {
    const response = await postGraphQL<{ accessReview: { title: string; tasks: Array<{ app: string | null }> } }>(
      gateway.url,
      `{ accessReview(id: "leaver") { title tasks { app } } }`,
    );

    expect(response.data).toEqual({ accessReview: { title: "Leaver check", tasks: [{ app: "App 0" }, { app: null }, { app: "App 1" }] } });
    expect(response.errors?.map((error) => ({ path: error.path, code: error.extensions?.["code"] }))).toEqual([notFoundAt]);
    expect(harness.emulator.calls).toHaveLength(1);
  });

  // Apollo Gateway sends every reference, repeats included: 1,500 references are one _entities
  // request of about 120 KB and 1,500 listed ids, past a direct caller's MAX_REQUEST_BYTES and
  // MAX_TASK_IDS_PER_OPERATION; a router's limits let it through, and AppFabric sees 150 distinct ids.
  it("answers a review of 1,500 task references in calls of 50", async () => {
    const response = await postGraphQL<{ accessReview: { tasks: Array<{ taskId: string; app: string }> } }>(
      gateway.url,
      `{ accessReview(id: "yearly") { tasks { taskId app } } }`,
    );

    expect(response.errors).toBeUndefined();
    expect(response.data?.accessReview.tasks).toHaveLength(1500);
    expect(response.data?.accessReview.tasks[1499]).toEqual({ taskId: syntheticTaskId(TASK_COUNT - 1), app: `App ${TASK_COUNT - 1}` });
    expect(callSizes(harness)).toEqual([50, 50, 50]);
  });

  // Hive merges parallel fetches to one subgraph into one request, an alias per fetch: 30 reviews
  // whose tasks ask for different fields are 30 aliased _entities fields in one subgraph request,
  // past a direct caller's 20 aliases. Sent with the router secret, they get a router's limits.
  // (Apollo Gateway sends them as 30 requests, which the batcher shares calls between.)
  it("answers 30 parents whose task fetches differ, each of the 60 tasks asked of AppFabric once", async () => {
    const FIELDS = ["app", "tenantId", "tenantDisplayName", "resultStatus", "userStatus"];
    const fieldsFor = (i: number) => FIELDS.filter((_, bit) => ((i + 1) >> bit) & 1).join(" ");
    const query = `{ ${Array.from({ length: 30 }, (_, i) => `r${i}: accessReview(id: "team-${i}") { tasks { taskId ${fieldsFor(i)} } }`).join(" ")} }`;

    const response = await postGraphQL<Record<string, { tasks: Array<Record<string, string>> }>>(gateway.url, query);

    expect(response.errors).toBeUndefined();
    expect(response.data?.["r0"]?.tasks).toEqual([
      { taskId: syntheticTaskId(0), app: "App 0" },
      { taskId: syntheticTaskId(1), app: "App 1" },
    ]);
    expect(response.data?.["r29"]?.tasks.map((task) => task["taskId"])).toEqual(ids(2, 58));
    expect(harness.emulator.calls.flatMap((call) => call.taskIdList).sort()).toEqual(ids(60).sort());
  });
});

/** Reads a GraphQL-over-SSE answer (graphql-sse's distinct-connections mode) until `complete`. */
async function subscribeOverSse(url: URL, query: string, variables: Record<string, unknown>, onEvent: (payload: unknown) => void): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query, variables }),
  });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const chunk of response.body ?? []) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let end = buffered.indexOf("\n\n"); end >= 0; end = buffered.indexOf("\n\n")) {
      const message = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      const event = /^event: (.*)$/m.exec(message)?.[1];
      const data = /^data: (.*)$/m.exec(message)?.[1];
      if (event === "complete") return;
      if (event === "next" && data !== undefined) onEvent(JSON.parse(data));
    }
  }
}

describe("a subscription through Hive Gateway (SSE to the gateway, graphql-ws to this subgraph)", () => {
  let harness: Harness;
  let reviews: Awaited<ReturnType<typeof startAccessReviewsSubgraph>>;
  let gateway: Awaited<ReturnType<typeof startHiveGateway>>;
  let clock = 0;

  beforeAll(async () => {
    harness = await startHarness({
      emulator: { tasks: [], taskClock: () => clock, taskProgressMs: 1_000 },
      config: { auth: { routerSecret: ROUTER_SECRET }, subscriptions: { ...productionConfig().subscriptions, watchIntervalMs: 100 } },
    });
    reviews = await startAccessReviewsSubgraph(REVIEWS);
    gateway = await startHiveGateway(
      [
        { name: "user-access", url: harness.service.url },
        { name: "access-reviews", url: reviews.url },
      ],
      { routerSecret: ROUTER_SECRET },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await reviews?.stop();
    await harness?.close();
  });

  it("delivers the first state, then the final one, and completes; AppFabric is asked once per poll", async () => {
    const started = await postGraphQL<{ startUserAccessTasks: Array<{ taskId: string | null }> }>(
      gateway.url,
      `mutation { startUserAccessTasks(email: "sse@example.com") { taskId } }`,
    );
    const taskIds = started.data?.startUserAccessTasks.flatMap((item) => item.taskId ?? []) ?? [];
    expect(taskIds.length).toBeGreaterThan(1);
    harness.emulator.reset();

    const events: Array<{ data?: { userAccessTasksUpdated: Array<{ taskId: string; resultStatus: string }> } }> = [];
    const done = subscribeOverSse(
      gateway.url,
      "subscription ($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId resultStatus } }",
      { ids: taskIds },
      (payload) => {
        events.push(payload as (typeof events)[number]);
        clock += 10_000; // once the first state is in, let every task finish
      },
    );
    await done;

    expect(events.map((event) => event.data?.userAccessTasksUpdated.map((task) => task.resultStatus))).toEqual([
      taskIds.map(() => "IN_PROGRESS"),
      expect.not.arrayContaining(["IN_PROGRESS"]),
    ]);
    expect(events[1]?.data?.userAccessTasksUpdated.map((task) => task.taskId)).toEqual(taskIds);
    const polls = await metric(harness.service.url, "watcher_polls_total");
    expect(harness.emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks")).toHaveLength(polls + 1);
  });
});

describe("npm run supergraph", () => {
  it("starts both subgraphs and a gateway on the emulator, answering a query that crosses them", async () => {
    const { child, printed, url } = await spawnEntry(withTsx("examples/supergraph/main.ts"), { PORT: "0" });
    try {
      await printed("no AWS calls");
      const response = await postGraphQL<{ accessReviews: Array<{ title: string; tasks: Array<{ app: string }> }> }>(
        url,
        "{ accessReviews { title tasks { app } } }",
      );
      expect(response.errors).toBeUndefined();
      expect(response.data?.accessReviews[0]?.tasks.map((task) => task.app)).toEqual(["Slack", "Okta", "Zoom", "Box", "Asana", "Jira"]);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
