import type { IncomingMessage } from "node:http";
import type { Context } from "graphql-ws";
import type { WebSocket } from "ws";
import type { Caller } from "../../callers/Caller.js";
import type { TaskSubscription } from "../../subscriptions/TaskWatcherOptions.js";
import type { SubscriptionProfile } from "../admission/callerProfiles.js";

/** One subscription's record, for its log lines. */
export interface SubscriptionRecord {
  startedAt: number;
  operationName: string | null;
  taskIds: number;
  watch?: TaskSubscription;
}

/** What this service keeps per connection (graphql-ws's `extra`). */
export interface Connection {
  socket: WebSocket;
  request: IncomingMessage;
  id: string;
  profile: SubscriptionProfile;
  subscriptions: Map<string, SubscriptionRecord>;
  /** Who the connection is for, once `connection_init` has authenticated it. */
  caller?: Caller;
  /** Gives back its place among the connections not yet through `connection_init` (once; later calls do nothing). */
  authenticated: () => void;
  /** Set once the socket has closed: subscriptions ended by that are `closed`, not `cancelled`. */
  closed: boolean;
  cancelExpiry?: () => void;
  /** Closes the connection once it has had no subscription for IDLE_TIMEOUT_MS. */
  idle?: NodeJS.Timeout;
}

export type ConnectionContext = Context<Record<string, unknown>, Connection>;
