import type { ApolloServerPlugin } from "@apollo/server";
import { visit, BREAK, type DocumentNode } from "graphql";
import { literalEmailInPersistedDocumentError } from "../../errors/requestErrors.js";
import type { GraphQLContext } from "../../resolvers/context.js";
import type { CallerBudgets } from "../../callers/CallerBudgets.js";

/** Something shaped like an email address anywhere in a string literal. */
const HOLDS_EMAIL = /[^\s@"]+@[^\s@"]+\.[^\s@"]+/;

/**
 * What registering a persisted query (APQ: a request with both the document and its hash) costs and
 * may hold. Apollo persists a document only once it has parsed, validated and passed every plugin's
 * `didResolveOperation`, so this runs just before that:
 * - a document with an email address as a literal is refused (`BAD_USER_INPUT`), never persisted:
 *   it would be personal data kept for an hour, in Redis and every replica's memory;
 * - its bytes are taken from the caller's CALLER_MAX_PERSISTED_BYTES_PER_MINUTE. Past it the
 *   operation still runs and its document is only not kept (the client sends it again next time,
 *   as APQ does after any miss), so a caller registering distinct documents cannot fill Redis.
 */
export function persistedQueriesPlugin(budgets: CallerBudgets): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation(requestContext) {
          if (requestContext.metrics.persistedQueryRegister !== true) return;
          if (holdsLiteralEmail(requestContext.document)) {
            requestContext.metrics.persistedQueryRegister = false;
            throw literalEmailInPersistedDocumentError();
          }
          const bytes = Buffer.byteLength(requestContext.source);
          if (!(await budgets.mayPersist(requestContext.contextValue.caller.key, bytes))) requestContext.metrics.persistedQueryRegister = false;
        },
      };
    },
  };
}

function holdsLiteralEmail(document: DocumentNode): boolean {
  let found = false;
  visit(document, {
    StringValue(node) {
      if (!HOLDS_EMAIL.test(node.value)) return undefined;
      found = true;
      return BREAK;
    },
  });
  return found;
}
