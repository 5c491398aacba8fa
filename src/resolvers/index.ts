import type { Resolvers } from "./__generated__/resolvers-types.js";
import { Mutation } from "./Mutation.js";
import { Query } from "./Query.js";
import { Subscription } from "./Subscription.js";
import { UserAccessTask } from "./UserAccessTask.js";

/** Every resolver of the subgraph, one file per GraphQL type. */
export const resolvers: Resolvers = { Query, Mutation, Subscription, UserAccessTask };
