/** What one operation may ask for, checked before anything of it runs. */
export interface OperationLimits {
  /** Task ids listed across `userAccessTask`, `userAccessTasks`, `userAccessTasksUpdated` and `_entities` (duplicates included). */
  maxTaskIds: number;
  /**
   * Of those, the ids listed in `userAccessTask` and `userAccessTasks`. A router passes a client's
   * arguments on as written, so a router's request keeps a direct caller's bound here; only the
   * references a router builds itself (`_entities`) get a router's.
   */
  maxRootFieldTaskIds: number;
  /** Aliased fields. */
  maxAliases: number;
}

/**
 * Fields per allowed task id, on average, that an answer may hold: `maxTaskIds` × this bounds each
 * listed id times the fields selected for it (aliases and fragments included), so one request cannot
 * make this service write more than its bounds say, whatever its aliases. Every field of a task (13
 * leaves, `taskError`'s included) fits, with room for `__typename` and a few aliases.
 */
export const ANSWER_FIELDS_PER_TASK = 25;

/**
 * The longest alias. An alias is repeated in the answer for every item of a list and in every error's
 * path, so its length multiplies the answer: at 64 characters an answer stays within a few times its
 * fields (a 95,000-character alias over 500 ids made a 48 MB answer from a 97 KB request).
 */
export const MAX_ALIAS_LENGTH = 64;

/** A direct caller's aliases: room for a page's worth of lookups side by side. */
export const CLIENT_MAX_ALIASES = 20;

/** What a document may hold for each alias it may have: tokens, directives and cost grow with them. */
const PER_ALIAS = { tokens: 100, directives: 1.5, cost: 250 };

/**
 * The bounds on the document itself, for graphql-js's parser and graphql-armor. At the direct caller's
 * 20 aliases: 2,000 tokens (room for hundreds of inline ids, far below what hurts the parser), 30
 * directives, a cost of 5,000 and a depth of 8. A router's query plan merges one fetch per alias
 * (Hive Gateway's batching), each with its own variables and selections, so its tokens, directives
 * and cost grow with its aliases; its depth does not.
 */
export function documentLimits(limits: OperationLimits): { maxTokens: number; maxDirectives: number; maxCost: number; maxDepth: number } {
  const aliases = Math.max(limits.maxAliases, CLIENT_MAX_ALIASES);
  return {
    maxTokens: aliases * PER_ALIAS.tokens,
    maxDirectives: Math.ceil(aliases * PER_ALIAS.directives),
    maxCost: aliases * PER_ALIAS.cost,
    maxDepth: 8,
  };
}
