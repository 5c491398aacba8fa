import { GraphQLError } from "graphql";
import { ErrorCode } from "../errors/ErrorCode.js";
import type { Caller } from "./Caller.js";

/** What a caller may do: read tasks (queries, `_entities`, the subscription) or start them. */
export type Action = "read" | "start";

/** The scope each action needs (AUTH_SCOPE_READ, AUTH_SCOPE_START); an action without one needs none. */
export type RequiredScopes = Partial<Record<Action, string>>;

const VARIABLE: Record<Action, string> = { read: "AUTH_SCOPE_READ", start: "AUTH_SCOPE_START" };

/**
 * `undefined` when `caller` may do `action`, else the `FORBIDDEN` error to answer at the field's path.
 * It names the missing scope (configuration, not a secret) and nothing of the caller's token.
 */
export function refusalOf(caller: Caller, action: Action, required: RequiredScopes): GraphQLError | undefined {
  const scope = required[action];
  if (scope === undefined || caller.scopes.has(scope)) return undefined;
  const what = action === "read" ? "Reading user-access tasks" : "Starting user-access tasks";
  return new GraphQLError(`${what} needs the scope "${scope}" (${VARIABLE[action]}), which the caller's token does not grant. Nothing was sent to AppFabric.`, {
    extensions: { code: ErrorCode.FORBIDDEN, retryable: false, requiredScope: scope, ...(action === "start" ? { mayHaveStarted: false } : {}) },
  });
}
