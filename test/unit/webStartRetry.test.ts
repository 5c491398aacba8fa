import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { describe, expect, it } from "vitest";
import { describeStartError, MAX_START_RETRIES, startRetryDelay } from "../../examples/web/src/errorMessages.js";

const failure = (extensions: Record<string, unknown>) => new CombinedGraphQLErrors({ errors: [{ message: "x", extensions }] });
const throttled = failure({ code: "THROTTLED", retryable: true, mayHaveStarted: false });

describe("the example page's start retries", () => {
  it("tries a throttled start that did not start again after 1, 2 and 4 s, then stops", () => {
    expect([0, 1, 2, 3].map((retries) => startRetryDelay(throttled, retries))).toEqual([1, 2, 4, undefined]);
    expect(MAX_START_RETRIES).toBe(3);
    expect(describeStartError(throttled, undefined, "not_running")).toBe("AppFabric is busy. Try again in a minute.");
  });

  it("waits at least as long as the service's retryAfterSeconds", () => {
    expect(startRetryDelay(failure({ code: "THROTTLED", mayHaveStarted: false, retryAfterSeconds: 7 }), 0)).toBe(7);
  });

  it("never repeats a start that may have started tasks, or that failed for another reason", () => {
    expect(startRetryDelay(failure({ code: "THROTTLED", mayHaveStarted: true }), 0)).toBeUndefined();
    expect(startRetryDelay(failure({ code: "UPSTREAM_ERROR", mayHaveStarted: true }), 0)).toBeUndefined();
    expect(startRetryDelay(failure({ code: "BAD_USER_INPUT", mayHaveStarted: false }), 0)).toBeUndefined();
    expect(startRetryDelay(new Error("network"), 0)).toBeUndefined();
    expect(describeStartError(failure({ code: "UPSTREAM_ERROR", mayHaveStarted: true }), undefined, "not_running")).toMatch(/may have started/);
  });
});
