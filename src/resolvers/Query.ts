import type { QueryResolvers } from "./__generated__/resolvers-types.js";
import { setTaskCacheHint } from "./cacheHints.js";

/**
 * Root fields: thin calls into the operation's loader, so every id of the operation shares calls.
 * Each sets a cache hint from what it read: cacheable when every task is final. Each first checks that
 * the caller may read (AUTH_SCOPE_READ): a refused field is `null` with `FORBIDDEN` and asks nothing.
 */
export const Query: QueryResolvers = {
  userAccessTask: async (_root, { id }, { userAccessTasks, authorize }, info) => {
    authorize("read");
    const task = await userAccessTasks.load(id).catch((error: unknown) => {
      setTaskCacheHint(info, [undefined]);
      throw error;
    });
    setTaskCacheHint(info, [task]);
    return task;
  },
  // One promise per position, all started before any is awaited (so they batch): a failed id becomes
  // `null` with an error at its own index.
  userAccessTasks: async (_root, { ids }, { userAccessTasks, authorize }, info) => {
    authorize("read");
    const loads = ids.map((id) => userAccessTasks.load(id));
    const settled = await Promise.allSettled(loads);
    setTaskCacheHint(
      info,
      settled.map((result) => (result.status === "fulfilled" ? result.value : undefined)),
    );
    return loads;
  },
};
