import type { ApolloServerPlugin } from "@apollo/server";
import { ErrorCode } from "../../errors/ErrorCode.js";
import type { GraphQLContext } from "../../resolvers/context.js";

/**
 * HTTP 429 with `Retry-After` for an operation of which nothing could run because its caller is over
 * budget: every error is `RATE_LIMITED` and no task was read. (A partly answered operation stays 200:
 * its data is real.) Registered before the operation observer, which logs the status it sets.
 */
export function rateLimitedStatusPlugin(): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== "single") return;
          const errors = response.body.singleResult.errors ?? [];
          if (errors.length === 0 || contextValue.userAccessTasks.idsRead > 0) return;
          let retryAfterSeconds = 1;
          for (const error of errors) {
            if (error.extensions?.["code"] !== ErrorCode.RATE_LIMITED) return;
            const after = error.extensions["retryAfterSeconds"];
            if (typeof after === "number") retryAfterSeconds = Math.max(retryAfterSeconds, after);
          }
          response.http.status = 429;
          response.http.headers.set("retry-after", String(retryAfterSeconds));
        },
      };
    },
  };
}
