import type { QueryResolvers } from "../__generated__/resolvers-types.js";
import { setTaskCacheHint } from "./cacheHints.js";

/**
 * Root fields: thin calls into the operation's loader, so every id of the operation shares calls.
 * Each sets a cache hint from what it read: cacheable when every task is final.
 */
export const Query: QueryResolvers = {
  userAccessTask: async (_root, { id }, { userAccessTasks }, info) => {
    const task = await userAccessTasks.load(id).catch((error: unknown) => {
      setTaskCacheHint(info, [undefined]);
      throw error;
    });
    setTaskCacheHint(info, [task]);
    return task;
  },
  // One promise per position, all started before any is awaited (so they batch): a failed id becomes
  // `null` with an error at its own index.
  userAccessTasks: async (_root, { ids }, { userAccessTasks }, info) => {
    const loads = ids.map((id) => userAccessTasks.load(id));
    const settled = await Promise.allSettled(loads);
    setTaskCacheHint(
      info,
      settled.map((result) => (result.status === "fulfilled" ? result.value : undefined)),
    );
    return loads;
  },
};
