import { GraphQLError } from "graphql";
import type { MutationResolvers } from "../__generated__/resolvers-types.js";
import { EMAIL_PATTERN, MAX_EMAIL_LENGTH } from "../appfabric/constants.js";
import { ErrorCode } from "../errors/ErrorCode.js";
import { toGraphQLError } from "../errors/toGraphQLError.js";

/** Starting tasks: the email is checked for form here, before any call, and never echoed or logged. */
export const Mutation: MutationResolvers = {
  startUserAccessTasks: async (_root, { email }, { startUserAccessTasks }) => {
    const trimmed = email.trim();
    if (trimmed.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(trimmed)) {
      throw new GraphQLError(`Expected an email address such as name@example.com (at most ${MAX_EMAIL_LENGTH} characters). Nothing was started.`, {
        extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false },
      });
    }
    try {
      return await startUserAccessTasks(trimmed);
    } catch (error) {
      throw toGraphQLError(error);
    }
  },
};
