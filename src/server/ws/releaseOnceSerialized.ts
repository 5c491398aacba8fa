import type { ExecutionResult } from "graphql";

/** Stands in for a result's `data`: hands the answer to `JSON.stringify` once and forgets it. */
class SerializedOnce {
  #data: ExecutionResult["data"];
  constructor(data: ExecutionResult["data"]) {
    this.#data = data;
  }
  toJSON(): ExecutionResult["data"] {
    const data = this.#data;
    this.#data = undefined;
    return data;
  }
}

/**
 * A subscription's results, each giving up its answer as soon as its message has been serialized.
 *
 * Why: graphql-ws keeps each result reachable while its message waits for the socket (`emit.next`
 * awaits the send with the result and a copy of it in scope, and its `for await` binding holds the
 * last one until the next). For a client that does not read, that is the whole answer's object graph
 * per subscription: about 0.8 MB for 500 copies of a task with 24 fields, twice the message, and not
 * counted toward any bound. With the answer behind a `toJSON` that gives it up, what waits for the
 * socket is the message alone, which the connection's outbox counts and bounds.
 */
export function releaseOnceSerialized<T extends ExecutionResult>(results: AsyncIterator<T>): AsyncIterableIterator<T> {
  const iterator: AsyncIterableIterator<T> = {
    next: async () => {
      const next = await results.next();
      if (next.done === true || next.value.data === undefined || next.value.data === null) return next;
      // JSON.stringify calls toJSON; nothing else in this service reads a subscription result's data.
      const data = new SerializedOnce(next.value.data) as unknown as ExecutionResult["data"];
      return { done: false, value: { ...next.value, data } };
    },
    return: async (value?: unknown) => (await results.return?.(value)) ?? { done: true, value: undefined },
    throw: async (error?: unknown) => {
      if (results.throw !== undefined) return results.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
