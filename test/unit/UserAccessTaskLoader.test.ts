import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { AppFabricServiceError } from "../../src/appfabric/errors.js";
import type { UserAccessResultItem } from "../../src/appfabric/types.js";
import { syntheticTaskId, syntheticTasks } from "../fixtures/syntheticTasks.js";
import { DirectSource } from "../../src/loaders/DirectSource.js";
import { UserAccessTaskLoader } from "../../src/loaders/UserAccessTaskLoader.js";
import type { BatchGetter } from "../../src/loaders/UserAccessTaskSource.js";

/** An in-memory AppFabric that records each call and answers in reverse order, as AWS may. */
class RecordingSource implements BatchGetter {
  readonly calls: string[][] = [];
  readonly #tasks = new Map(syntheticTasks(200).map((task) => [task.taskId ?? "", task]));
  constructor(private readonly failWhen: (taskIds: readonly string[]) => Error | undefined = () => undefined) {}

  async batchGetUserAccessTasks(taskIds: readonly string[]): Promise<UserAccessResultItem[]> {
    this.calls.push([...taskIds]);
    const failure = this.failWhen(taskIds);
    if (failure) throw failure;
    return taskIds.flatMap((taskId) => this.#tasks.get(taskId) ?? []).reverse();
  }
}

const ids = (count: number, from = 0) => Array.from({ length: count }, (_, i) => syntheticTaskId(from + i));
const codeOf = (error: unknown) => (error instanceof GraphQLError ? error.extensions["code"] : error);

describe("UserAccessTaskLoader", () => {
  it("coalesces 120 loads made in one tick into calls of 50, 50 and 20", async () => {
    const source = new RecordingSource();
    const loader = new UserAccessTaskLoader(new DirectSource(source));
    const tasks = await Promise.all(ids(120).map((id) => loader.load(id)));

    expect(tasks.map((task) => task.taskId)).toEqual(ids(120));
    expect(source.calls.map((call) => call.length)).toEqual([50, 50, 20]);
  });

  it("lower-cases ids, so two spellings of an id are one key and one slot", async () => {
    const source = new RecordingSource();
    const loader = new UserAccessTaskLoader(new DirectSource(source));
    const [id = ""] = ids(1);
    const [a, b] = await Promise.all([loader.load(id), loader.load(id.toUpperCase())]);

    expect(a).toBe(b);
    expect(source.calls).toEqual([[id]]);
  });

  it("matches results by taskId, not by position", async () => {
    const loader = new UserAccessTaskLoader(new DirectSource(new RecordingSource()));
    const tasks = await Promise.all(ids(5).map((id) => loader.load(id)));
    expect(tasks.map((task) => task.taskId)).toEqual(ids(5));
  });

  it("rejects an id the source does not return with NOT_FOUND; its neighbours resolve", async () => {
    const loader = new UserAccessTaskLoader(new DirectSource(new RecordingSource()));
    const [known, missing] = await Promise.allSettled([loader.load(syntheticTaskId(1)), loader.load(syntheticTaskId(999))]);

    expect(known.status).toBe("fulfilled");
    expect(missing.status === "rejected" && codeOf(missing.reason)).toBe("NOT_FOUND");
  });

  it("rejects a malformed id with BAD_USER_INPUT and never sends it", async () => {
    const source = new RecordingSource();
    const loader = new UserAccessTaskLoader(new DirectSource(source));
    const results = await Promise.allSettled([loader.load("nope"), loader.load(syntheticTaskId(1)), loader.load("")]);

    expect(results.map((result) => (result.status === "rejected" ? codeOf(result.reason) : "ok"))).toEqual(["BAD_USER_INPUT", "ok", "BAD_USER_INPUT"]);
    expect(source.calls).toEqual([[syntheticTaskId(1)]]);
  });

  it("fails only the ids of a failed call, with the mapped error", async () => {
    const throttled = new AppFabricServiceError({ statusCode: 429, errorType: "ThrottlingException" });
    const source = new RecordingSource((taskIds) => (taskIds.includes(syntheticTaskId(60)) ? throttled : undefined));
    const loader = new UserAccessTaskLoader(new DirectSource(source));
    const results = await Promise.allSettled(ids(120).map((id) => loader.load(id)));

    const codes = results.map((result) => (result.status === "rejected" ? codeOf(result.reason) : "ok"));
    expect(codes.slice(0, 50).every((code) => code === "ok")).toBe(true);
    expect(codes.slice(50, 100).every((code) => code === "THROTTLED")).toBe(true);
    expect(codes.slice(100).every((code) => code === "ok")).toBe(true);
  });

  it("does not cache a failed call: a later load of the same id asks again", async () => {
    let failures = 1;
    const source = new RecordingSource(() => (failures-- > 0 ? new AppFabricServiceError({ statusCode: 500 }) : undefined));
    const loader = new UserAccessTaskLoader(new DirectSource(source));
    const [id = ""] = ids(1);

    await expect(loader.load(id)).rejects.toMatchObject({ extensions: { code: "UPSTREAM_ERROR" } });
    await expect(loader.load(id)).resolves.toMatchObject({ taskId: id });
    expect(source.calls).toEqual([[id], [id]]);
  });

  it("shares no cache between two loaders (two operations)", async () => {
    const source = new RecordingSource();
    const [id = ""] = ids(1);
    await new UserAccessTaskLoader(new DirectSource(source)).load(id);
    await new UserAccessTaskLoader(new DirectSource(source)).load(id);
    expect(source.calls).toEqual([[id], [id]]);
  });
});
