import { GraphQLError } from "graphql";
import { ErrorCode } from "./ErrorCode.js";

/**
 * A task id that is not a UUID. The value itself is not echoed: a careless caller may have pasted
 * personal data into it, and error messages travel into logs.
 */
export function invalidTaskIdError(received: string): GraphQLError {
  return new GraphQLError(
    `Expected a task id in UUID form (8-4-4-4-12 hexadecimal digits, e.g. 3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21); ` +
      `received a ${received.length}-character value that is not one. It was not sent to AppFabric.`,
    { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false } },
  );
}

/** AppFabric answered the call but had no result for this id. */
export function taskNotFoundError(taskId: string): GraphQLError {
  return new GraphQLError(`AppFabric has no user-access task with id ${taskId} in this app bundle.`, {
    extensions: { code: ErrorCode.NOT_FOUND, retryable: false },
  });
}
