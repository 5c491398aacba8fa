import { CombinedGraphQLErrors } from "@apollo/client/errors";

/** What each of the service's error codes means to the person at the screen, while the page polls. */
const MESSAGES: Record<string, string> = {
  THROTTLED: "AppFabric is busy, retrying…",
  UPSTREAM_ERROR: "AppFabric had a problem, retrying…",
  UPSTREAM_UNAVAILABLE: "AppFabric could not be reached, retrying…",
  FORBIDDEN: "This service may not read AppFabric. Ask an administrator to check its permissions.",
  NOT_FOUND: "AppFabric no longer has this task.",
  BAD_USER_INPUT: "Check the email address and try again.",
  UNAUTHENTICATED: "Your session has ended. Sign in again.",
};

/** Why the service could not be reached: it does not answer at all, or it answers but not this page. */
export type Unreachable = "not_running" | "origin_refused";

const UNREACHABLE: Record<Unreachable, () => string> = {
  not_running: () => "The service could not be reached. Is it running?",
  origin_refused: () => `The service is running but does not accept requests from this page (${location.origin}). Add it to the service's CORS_ORIGINS.`,
};

/** The codes an error carries (`extensions.code`), or none for a network failure. */
export function errorCodes(error: unknown): string[] {
  if (!CombinedGraphQLErrors.is(error)) return [];
  return [...new Set(error.errors.map(({ extensions }) => (typeof extensions?.["code"] === "string" ? extensions["code"] : "")))];
}

/** A plain sentence for an error from the service; `unreachable` says why a network failure happened. */
export function describeError(error: unknown, unreachable: Unreachable = "not_running"): string {
  const [code] = errorCodes(error);
  if (code === undefined) return UNREACHABLE[unreachable]();
  return MESSAGES[code] ?? "Something went wrong.";
}

/** A plain sentence for one `extensions.code`. */
export function describeCode(code: string): string {
  return MESSAGES[code] ?? "Something went wrong.";
}

/** Starts the page tries again by itself after a throttled start: AWS refused it before doing anything. */
export const MAX_START_RETRIES = 3;

/**
 * How long to wait before starting again, in seconds, or undefined when the page must not: only a
 * throttled start that certainly did not start anything (`mayHaveStarted: false`) is tried again, after
 * the service's `retryAfterSeconds` or 1, 2, 4 s, at most `MAX_START_RETRIES` times. A start that may
 * have started tasks is never repeated by the page: that would start every task twice.
 */
export function startRetryDelay(error: unknown, retriesSoFar: number): number | undefined {
  if (!CombinedGraphQLErrors.is(error) || retriesSoFar >= MAX_START_RETRIES) return undefined;
  const extensions = error.errors[0]?.extensions ?? {};
  if (extensions["code"] !== "THROTTLED" || extensions["mayHaveStarted"] !== false) return undefined;
  const retryAfter = typeof extensions["retryAfterSeconds"] === "number" ? extensions["retryAfterSeconds"] : 0;
  return Math.max(retryAfter, 2 ** retriesSoFar);
}

/** What the page says about a failed start: whether it tries again by itself, or what the person should do. */
export function describeStartError(error: unknown, retryInSeconds: number | undefined, unreachable: Unreachable): string {
  if (retryInSeconds !== undefined) return `AppFabric is busy. Trying again in ${retryInSeconds} s…`;
  const extensions = CombinedGraphQLErrors.is(error) ? (error.errors[0]?.extensions ?? {}) : {};
  if (extensions["code"] === "THROTTLED") return "AppFabric is busy. Try again in a minute.";
  if (extensions["mayHaveStarted"] === true) return "AppFabric did not confirm the start; the lookup may have started. Wait a minute before trying again.";
  if (extensions["code"] === "UPSTREAM_ERROR" || extensions["code"] === "UPSTREAM_UNAVAILABLE") return "AppFabric could not start the lookup. Try again.";
  return describeError(error, unreachable);
}

/**
 * Why `url` could not be reached from this page. A request the browser may send without CORS
 * (`no-cors`) reaches a running service whatever its CORS settings; if that one fails too, nothing
 * is listening.
 */
export async function whyUnreachable(url: string): Promise<Unreachable> {
  try {
    await fetch(new URL("/health", url), { mode: "no-cors" });
    return "origin_refused";
  } catch {
    return "not_running";
  }
}
