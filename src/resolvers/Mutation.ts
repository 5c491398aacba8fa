import type { MutationResolvers } from "./__generated__/resolvers-types.js";
import { emailProblem } from "../appfabric/email.js";
import { badEmailError, toStartError } from "../errors/startErrors.js";

/**
 * Starting tasks: the email is checked here against AppFabric's own rule (`emailProblem`), before any
 * call, and never echoed or logged. Controls and invisible characters (a paste, a hostile caller) are
 * outside that rule's ASCII set, so they are refused with the rest.
 */
export const Mutation: MutationResolvers = {
  startUserAccessTasks: async (_root, { email }, { startUserAccessTasks, authorize }) => {
    // Before the email is even looked at: a caller who may not start learns nothing from this field.
    authorize("start");
    const trimmed = email.trim();
    const problem = emailProblem(trimmed);
    if (problem !== undefined) throw badEmailError(problem);
    try {
      return await startUserAccessTasks(trimmed);
    } catch (error) {
      throw toStartError(error);
    }
  },
};
