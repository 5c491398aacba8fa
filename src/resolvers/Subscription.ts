import { GraphQLError } from "graphql";
import type { SubscriptionResolvers } from "./__generated__/resolvers-types.js";
import { subscriptionsOverHttpError } from "../errors/requestErrors.js";
import type { WatchedTask } from "../subscriptions/watchState.js";

/**
 * `userAccessTasksUpdated`: the process's shared watcher does the polling (see `TaskWatcher`); this
 * only subscribes and turns each snapshot into the list `userAccessTasks` would answer, an error
 * becoming `null` with that error at its own index.
 */
export const Subscription: SubscriptionResolvers = {
  userAccessTasksUpdated: {
    subscribe: (_root, { ids }, { watchUserAccessTasks, authorize }) => {
      if (watchUserAccessTasks === undefined) throw subscriptionsOverHttpError();
      authorize("read");
      return watchUserAccessTasks(ids);
    },
    resolve: (snapshot: WatchedTask[]) => snapshot.map((task) => (task instanceof GraphQLError ? Promise.reject(task) : task)),
  },
};
