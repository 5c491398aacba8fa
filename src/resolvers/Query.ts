import type { QueryResolvers } from "../__generated__/resolvers-types.js";

/** Root fields: thin calls into the operation's loader, so every id of the operation shares calls. */
export const Query: QueryResolvers = {
  userAccessTask: (_root, { id }, { userAccessTasks }) => userAccessTasks.load(id),
  // One promise per position: a failed id becomes `null` with an error at its own index.
  userAccessTasks: (_root, { ids }, { userAccessTasks }) => ids.map((id) => userAccessTasks.load(id)),
};
