import type { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";

/** What every resolver of one GraphQL operation shares. Built fresh per operation. */
export interface GraphQLContext {
  /** This operation's loader: its cache is never shared with another operation. */
  userAccessTasks: UserAccessTaskLoader;
}
