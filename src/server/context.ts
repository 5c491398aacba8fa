import type { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";

/** What every resolver of one GraphQL operation shares. Built fresh per operation. */
export interface GraphQLContext {
  /** From the caller's `x-request-id`, or generated; on every log line of the operation. */
  requestId: string;
  /** This operation's loader: its cache is never shared with another operation. */
  userAccessTasks: UserAccessTaskLoader;
  /** Ends the operation's deadline timer once the response is sent. */
  dispose(): void;
}
