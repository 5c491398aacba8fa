import type { Span } from "@opentelemetry/api";
import type { CallTrace } from "../appfabric/callEvents.js";
import type { UserAccessTaskItem } from "../appfabric/types.js";
import type { Action } from "../callers/access.js";
import type { Caller } from "../callers/Caller.js";
import type { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";
import type { WatchedTask } from "../subscriptions/watchState.js";

/** What the mutation needs from the AppFabric client. */
export interface TaskStarter {
  startUserAccessTasks(email: string, options?: { signal?: AbortSignal; trace?: CallTrace }): Promise<UserAccessTaskItem[]>;
}

/** What every resolver of one GraphQL operation shares. Built fresh per operation. */
export interface GraphQLContext {
  /** From the caller's `x-request-id`, or generated; on every log line of the operation. */
  requestId: string;
  /** Who the operation runs for (see `Caller`): computed once, from what authenticated the request or connection. */
  caller: Caller;
  /**
   * Throws `FORBIDDEN` (naming the missing scope) unless the caller may `read` tasks or `start` them.
   * Every resolver that reads or starts calls it first, so a refused field reaches no AppFabric.
   */
  authorize: (action: Action) => void;
  /** This operation's loader: its cache is never shared with another operation. */
  userAccessTasks: UserAccessTaskLoader;
  /**
   * Starts tasks (the mutation), bounded by the operation's deadline. At most once per operation: a
   * second start in the same operation is refused without a call.
   */
  startUserAccessTasks: (email: string) => Promise<UserAccessTaskItem[]>;
  /**
   * Whether the operation observer has logged this operation, so that the HTTP layer does not log the
   * same request again as a refusal. An object, not a flag: Apollo hands plugins a shallow copy of the
   * context, and all copies must see the same answer.
   */
  log: { written: boolean; callerGone: boolean };
  /**
   * Subscribes to the process's task watcher: the subscriber's list at once, then on every change.
   * Only subscriptions over WebSocket have it.
   */
  watchUserAccessTasks?: (ids: readonly string[]) => Promise<AsyncIterableIterator<WatchedTask[]>>;
  /** The operation's span, when tracing is on. */
  span?: Span;
}
