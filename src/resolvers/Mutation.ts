import type { MutationResolvers } from "../__generated__/resolvers-types.js";
import { EMAIL_PATTERN, MAX_EMAIL_LENGTH } from "../appfabric/constants.js";
import { badEmailError, toStartError } from "../errors/startErrors.js";

/**
 * Characters no email address has, that a paste or a hostile caller can hide in one: controls (C0,
 * C1, DEL), invisible format characters (zero-width spaces and joiners, bidi overrides, the BOM, soft
 * hyphen) and line or paragraph separators. AppFabric would take them as part of the address.
 */
const HIDDEN_CHARACTERS = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/** Starting tasks: the email is checked for form here, before any call, and never echoed or logged. */
export const Mutation: MutationResolvers = {
  startUserAccessTasks: async (_root, { email }, { startUserAccessTasks, authorize }) => {
    // Before the email is even looked at: a caller who may not start learns nothing from this field.
    authorize("start");
    const trimmed = email.trim();
    if (trimmed.length > MAX_EMAIL_LENGTH || !EMAIL_PATTERN.test(trimmed) || HIDDEN_CHARACTERS.test(trimmed)) {
      throw badEmailError(MAX_EMAIL_LENGTH);
    }
    try {
      return await startUserAccessTasks(trimmed);
    } catch (error) {
      throw toStartError(error);
    }
  },
};
