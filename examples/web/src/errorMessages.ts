import { CombinedGraphQLErrors } from "@apollo/client/errors";

/** What each of the service's error codes means to the person at the screen. */
const MESSAGES: Record<string, string> = {
  THROTTLED: "AppFabric is busy, retrying…",
  UPSTREAM_ERROR: "AppFabric had a problem, retrying…",
  UPSTREAM_UNAVAILABLE: "AppFabric could not be reached, retrying…",
  FORBIDDEN: "This service may not read AppFabric. Ask an administrator to check its permissions.",
  NOT_FOUND: "AppFabric no longer has this task.",
  BAD_USER_INPUT: "Check the email address and try again.",
  UNAUTHENTICATED: "Your session has ended. Sign in again.",
};

/** The codes an error carries (`extensions.code`), or none for a network failure. */
export function errorCodes(error: unknown): string[] {
  if (!CombinedGraphQLErrors.is(error)) return [];
  return [...new Set(error.errors.map(({ extensions }) => (typeof extensions?.["code"] === "string" ? extensions["code"] : "")))];
}

/** A plain sentence for an error from the service. */
export function describeError(error: unknown): string {
  const [code] = errorCodes(error);
  if (code === undefined) return "The service could not be reached. Is it running?";
  return MESSAGES[code] ?? "Something went wrong.";
}

/** A plain sentence for one `extensions.code`. */
export function describeCode(code: string): string {
  return MESSAGES[code] ?? "Something went wrong.";
}
