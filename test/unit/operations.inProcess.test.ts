import type { GraphQLResponse } from "@apollo/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserAccessResultItem } from "../../src/appfabric/types.js";
import type { UserAccessTaskSource } from "../../src/loaders/UserAccessTaskSource.js";
import type { GraphQLContext } from "../../src/resolvers/context.js";
import { createApolloServer } from "../../src/server/createApolloServer.js";
import { CLIENT_MAX_ALIASES } from "../../src/server/operationLimits.js";
import { createOperation } from "../../src/server/createOperation.js";
import { buildSchema } from "../../src/server/buildSchema.js";
import { addressCaller } from "../../src/callers/Caller.js";
import { localCallerRules } from "../../src/callers/CallerRules.js";
import { Metrics } from "../../src/observability/Metrics.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";

/** An in-memory source that records what it was asked for, as AppFabric would answer (unknown ids left out). */
function memorySource(tasks: readonly UserAccessResultItem[]) {
  const byId = new Map(tasks.map((task) => [task.taskId ?? "", task]));
  const asked: string[][] = [];
  const source: UserAccessTaskSource = {
    loadUserAccessTasks: async (taskIds) => {
      asked.push([...taskIds]);
      return taskIds.map((taskId) => byId.get(taskId));
    },
  };
  return { source, asked };
}

/**
 * GraphQL-level behaviour in process (Apollo's `executeOperation`, no HTTP): the schema, resolvers,
 * loader, limits and error formatting, against an in-memory source. What crosses the wire is tested
 * over real HTTP in test/integration and test/attack.
 */
const rules = localCallerRules({
  budgets: { taskIdsPerSecond: 1_000_000, startsPerMinute: 1_000, persistedBytesPerMinute: 1_000_000_000 },
  observer: new Metrics(),
});

describe("operations in process", () => {
  const apollo = createApolloServer({
    schema: buildSchema(),
    production: true,
    introspection: false,
    limits: { maxTaskIds: 10, maxRootFieldTaskIds: 10, maxAliases: CLIENT_MAX_ALIASES },
  });
  const { source, asked } = memorySource(syntheticTasks(20));
  const run = async (query: string, variables?: Record<string, unknown>) => {
    const operation = createOperation({
      source,
      starter: { startUserAccessTasks: async () => [] },
      requestId: "in-process",
      caller: addressCaller("127.0.0.1"),
      rules,
      deadlineMs: 5_000,
    });
    try {
      const response: GraphQLResponse = await apollo.executeOperation<Record<string, unknown>>(
        { query, variables },
        { contextValue: operation.context satisfies GraphQLContext },
      );
      if (response.body.kind !== "single") throw new Error("Expected a single result");
      return response.body.singleResult;
    } finally {
      operation.end();
    }
  };
  beforeAll(() => apollo.start());
  afterAll(() => apollo.stop());

  it("answers in the order asked, duplicates kept, each id asked for once, upper case folded", async () => {
    asked.length = 0;
    const ids = [syntheticTaskId(3), syntheticTaskId(1), syntheticTaskId(3).toUpperCase()];
    const result = await run("query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", { ids });
    expect(result.data).toEqual({ userAccessTasks: [{ taskId: syntheticTaskId(3) }, { taskId: syntheticTaskId(1) }, { taskId: syntheticTaskId(3) }] });
    expect(asked).toEqual([[syntheticTaskId(3), syntheticTaskId(1)]]);
  });

  it("puts a malformed or unknown id's error at its own index and answers the rest", async () => {
    const result = await run("query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", { ids: ["nope", syntheticTaskId(2), syntheticTaskId(99)] });
    expect(result.data).toEqual({ userAccessTasks: [null, { taskId: syntheticTaskId(2) }, null] });
    expect(result.errors?.map((error) => [error.path, error.extensions?.["code"]])).toEqual([
      [["userAccessTasks", 0], "BAD_USER_INPUT"],
      [["userAccessTasks", 2], "NOT_FOUND"],
    ]);
  });

  it("refuses more listed ids than the limit before asking the source", async () => {
    asked.length = 0;
    const result = await run("query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", { ids: Array(11).fill(syntheticTaskId(1)) });
    expect(result.errors?.[0]?.extensions?.["code"]).toBe("BAD_USER_INPUT");
    expect(asked).toEqual([]);
  });

  it("resolves entity references through the same loader, with a bad one at its own index", async () => {
    const result = await run("query($r: [_Any!]!) { _entities(representations: $r) { ... on UserAccessTask { taskId } } }", {
      r: [
        { __typename: "UserAccessTask", taskId: syntheticTaskId(4) },
        { __typename: "Other", taskId: "x" },
      ],
    });
    expect(result.data).toEqual({ _entities: [{ taskId: syntheticTaskId(4) }, null] });
    expect(result.errors?.[0]).toMatchObject({ path: ["_entities", 1], extensions: { code: "BAD_USER_INPUT" } });
  });
});
