import type { ApolloServerPlugin } from "@apollo/server";
import type { GraphQLSchema } from "graphql";
import { loggableOperationName } from "../../observability/operationName.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import type { AuditTrail } from "../../callers/AuditTrail.js";
import { personalDataReader } from "../../callers/personalData.js";

/**
 * One audit line for each HTTP operation that was answered with personal fields: its document selects
 * a field tagged `personal-data` and it read at least one task. Written once the answer is ready,
 * with the number of tasks read.
 */
export function auditReadsPlugin(schema: GraphQLSchema, audit: AuditTrail): ApolloServerPlugin<GraphQLContext> {
  const readsPersonalData = personalDataReader(schema);
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ document, contextValue, operationName }) {
          const taskIds = contextValue.userAccessTasks.idsRead;
          if (document === undefined || taskIds === 0 || !readsPersonalData(document)) return;
          audit.read({
            requestId: contextValue.requestId,
            caller: contextValue.caller,
            taskIds,
            operationName: loggableOperationName(operationName),
            via: "http",
          });
        },
      };
    },
  };
}
