import type { UserAccessTaskItem } from "../appfabric/types.js";
import type { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";

/** What the mutation needs from the AppFabric client. */
export interface TaskStarter {
  startUserAccessTasks(email: string, options?: { signal?: AbortSignal }): Promise<UserAccessTaskItem[]>;
}

/** What every resolver of one GraphQL operation shares. Built fresh per operation. */
export interface GraphQLContext {
  /** From the caller's `x-request-id`, or generated; on every log line of the operation. */
  requestId: string;
  /** This operation's loader: its cache is never shared with another operation. */
  userAccessTasks: UserAccessTaskLoader;
  /** Starts tasks (the mutation), bounded by the operation's deadline. */
  startUserAccessTasks(email: string): Promise<UserAccessTaskItem[]>;
  /** Ends the operation's deadline timer once the response is sent. */
  dispose(): void;
}
