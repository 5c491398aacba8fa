import type { ExecutionResult } from "graphql";

/**
 * A subscription's results, each emptied once the next one is asked for.
 *
 * Why: graphql-ws sends each result inside `for await (const result of …)`, and the loop's binding
 * keeps the last result it sent reachable while it waits for the next one, which for a task that no
 * longer changes is as long as the subscription lives. That is the whole answer's object graph per
 * subscription (about 0.8 MB for 500 copies of a task with 24 fields), readers that keep up included.
 * graphql-ws asks for the next result only once the previous one has been sent, so emptying it then
 * loses nothing.
 */
export function releaseSentResults<T extends ExecutionResult>(results: AsyncIterator<T>): AsyncIterableIterator<T> {
  let sent: T | undefined;
  const release = () => {
    if (sent === undefined) return;
    delete sent.data;
    delete sent.errors;
    delete sent.extensions;
    sent = undefined;
  };
  const iterator: AsyncIterableIterator<T> = {
    next: async () => {
      release();
      const next = await results.next();
      if (next.done !== true) sent = next.value;
      return next;
    },
    return: async (value?: unknown) => {
      release();
      return (await results.return?.(value)) ?? { done: true, value: undefined };
    },
    throw: async (error?: unknown) => {
      release();
      if (results.throw !== undefined) return results.throw(error);
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
