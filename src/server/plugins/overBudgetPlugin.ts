import type { ApolloServerPlugin } from "@apollo/server";
import { Kind, OperationTypeNode, type FragmentDefinitionNode } from "graphql";
import { toGraphQLError } from "../../errors/toGraphQLError.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import { countOperationCost } from "../operationLimitsPlugin.js";
import type { CallerBudgets } from "../../callers/CallerBudgets.js";
import { RateLimitedError } from "../../errors/RateLimitedError.js";

/**
 * Refuses, before it runs, a query that lists task ids while its caller's task-id budget is known to
 * be used up: one `RATE_LIMITED` error and HTTP 429, until the caller's window ends. Without it, a
 * caller over budget would still cost the service a full answer (hundreds of refused ids, each an
 * error) per request, and a flood of them would take the CPU from everyone else. Cached tasks are
 * refused too for that moment (at most a second): the refusal is what keeps a flood cheap.
 */
export function overBudgetPlugin(budgets: CallerBudgets): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, contextValue }) {
          const blockedMs = budgets.taskIdsBlockedForMs(contextValue.caller.key);
          if (blockedMs === 0 || operation?.operation !== OperationTypeNode.QUERY) return;
          const fragments = new Map(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          if (countOperationCost(operation, fragments, request.variables ?? {}).taskIds === 0) return;
          budgets.refused("task_ids");
          // rateLimitedStatusPlugin answers it 429 with Retry-After: nothing of the operation ran.
          throw toGraphQLError(new RateLimitedError("task_ids", Math.ceil(blockedMs / 1_000)));
        },
      };
    },
  };
}
