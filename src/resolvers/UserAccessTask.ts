import type { UserAccessTaskResolvers } from "./__generated__/resolvers-types.js";
import { RESULT_STATUSES, type ResultStatus } from "../appfabric/types.js";
import { setTaskCacheHint } from "./cacheHints.js";

const KNOWN_STATUSES: ReadonlySet<string> = new Set(RESULT_STATUSES);
const isKnownStatus = (status: unknown): status is ResultStatus => typeof status === "string" && KNOWN_STATUSES.has(status);

/**
 * `UserAccessTask` is AppFabric's `UserAccessResultItem` as it stands; only the two fields below need
 * code. Entity references from other subgraphs go through the same loader as the root fields.
 */
export const UserAccessTask: UserAccessTaskResolvers = {
  // `_entities` has checked that taskId is a string (guardEntityRepresentations).
  // The read scope is checked per reference, as for the root fields: a refused one is `null` with `FORBIDDEN`
  // at its own index (async: a synchronous throw would fail every reference of `_entities` at once).
  __resolveReference: async ({ taskId }, { userAccessTasks, authorize }) => {
    authorize("read");
    return userAccessTasks.load(taskId);
  },
  // Results are matched by taskId, so an item reaching here always has one.
  taskId: (item) => item.taskId ?? "",
  // A status AppFabric adds after this schema (say CANCELLED) is null here, its name in resultStatusText:
  // graphql-js would otherwise fail the field as if the caller had asked for something wrong.
  resultStatus: (item) => (isKnownStatus(item.resultStatus) ? item.resultStatus : null),
  resultStatusText: (item) => (typeof item.resultStatus === "string" ? item.resultStatus : null),
  // An object field: without its own hint it would make every answer that selects it uncacheable.
  taskError: (item, _args, _context, info) => {
    setTaskCacheHint(info, [item]);
    return item.taskError ?? null;
  },
};
