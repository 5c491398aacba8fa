import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { ExecutionResult } from "graphql";
import { describe, expect, it } from "vitest";
import { releaseOnceSerialized } from "../../src/server/ws/releaseOnceSerialized.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
/** A full collection, once the current job (which keeps every WeakRef target it touched) has ended. */
const collect = async () => {
  await new Promise((resolve) => setTimeout(resolve, 0));
  gc();
};

/** One result whose answer only a WeakRef follows, the way graphql-js hands it over. */
function oneResult(): { results: AsyncIterator<ExecutionResult>; answer: WeakRef<object> } {
  let data: ExecutionResult["data"] = { userAccessTasksUpdated: Array.from({ length: 500 }, (_, n) => ({ taskId: `task-${n}` })) };
  const answer = new WeakRef(data);
  const results: AsyncIterator<ExecutionResult> = {
    next: () => {
      const value = { data };
      data = undefined;
      return Promise.resolve({ done: false, value });
    },
  };
  return { results, answer };
}

/** What graphql-ws sends for a result (its stringifyMessage: JSON.stringify of the message). */
const message = (result: ExecutionResult) => JSON.stringify({ id: "1", type: "next", payload: result });

describe("releaseOnceSerialized", () => {
  it("serializes the same message, then keeps nothing of the answer while the result is still held", async () => {
    const { results, answer } = oneResult();
    const expected = message({ data: answer.deref() as ExecutionResult["data"] });
    const next = await releaseOnceSerialized(results).next();
    if (next.done === true) throw new Error("no result");
    const held = next.value; // graphql-ws holds the result while its send waits for the socket
    expect(message(held)).toBe(expected);
    await collect();
    expect(answer.deref()).toBeUndefined();
    expect(held).toBeDefined();
  });

  it("keeps the answer reachable until it is serialized (the collection above is not vacuous)", async () => {
    const { results, answer } = oneResult();
    const next = await releaseOnceSerialized(results).next();
    if (next.done === true) throw new Error("no result");
    await collect();
    expect(answer.deref()).toBeDefined();
    expect(JSON.parse(message(next.value))).toMatchObject({ payload: { data: { userAccessTasksUpdated: expect.any(Array) } } });
  });

  it("leaves a result without data, and the end, as they are", async () => {
    const errorsOnly: AsyncIterator<ExecutionResult> = { next: () => Promise.resolve({ done: false, value: { data: null, errors: [] } }) };
    expect((await releaseOnceSerialized(errorsOnly).next()).value).toEqual({ data: null, errors: [] });
    const ended: AsyncIterator<ExecutionResult> = { next: () => Promise.resolve({ done: true, value: undefined }) };
    expect(await releaseOnceSerialized(ended).next()).toEqual({ done: true, value: undefined });
  });
});
