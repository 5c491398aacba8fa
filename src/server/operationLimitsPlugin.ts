import type { ApolloServerPlugin } from "@apollo/server";
import {
  getArgumentValues,
  getVariableValues,
  GraphQLError,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { ErrorCode } from "../errors/ErrorCode.js";
import { MAX_STARTS_PER_OPERATION, oneStartPerOperationError } from "../errors/startErrors.js";
import type { GraphQLContext } from "./context.js";

/**
 * Refuses, before anything runs, an operation that lists more than `maxTaskIds` task ids across
 * `userAccessTask`, `userAccessTasks` and `_entities` (aliases, fragments and variables included), or
 * that starts tasks more than once. Ids are counted as listed, duplicates and malformed ones included:
 * each listed id costs an answer (or an error) in the response, whatever it de-duplicates to. One
 * request cannot make this service fan out into thousands of AWS calls, nor write megabytes of errors.
 */
export function operationLimitsPlugin(maxTaskIds: number): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (operation === undefined) return;
          if (operation.operation === "subscription") {
            throw new GraphQLError("This subgraph has no subscriptions: query userAccessTasks instead. Nothing was run.", {
              extensions: { code: ErrorCode.BAD_REQUEST, retryable: false, http: { status: 400 } },
            });
          }
          const fragments = new Map(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const { taskIds, starts } = countOperationCost(schema, operation, fragments, request.variables ?? {});
          if (starts > MAX_STARTS_PER_OPERATION) throw oneStartPerOperationError();
          if (taskIds > maxTaskIds) {
            throw new GraphQLError(
              `This operation lists ${taskIds} task ids (duplicates included); at most ${maxTaskIds} are allowed in one operation. ` +
                "Split it into several. Nothing was sent to AppFabric.",
              { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}

/** What an operation's root fields ask for: task ids as listed, and task starts. */
export function countOperationCost(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  rawVariables: Record<string, unknown>,
): { taskIds: number; starts: number } {
  const rootType = operation.operation === "query" ? schema.getQueryType() : operation.operation === "mutation" ? schema.getMutationType() : undefined;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  // Variables that do not coerce fail the operation before execution; there is nothing to count.
  if (rootType === undefined || rootType === null || coerced.coerced === undefined) return { taskIds: 0, starts: 0 };
  const variables = coerced.coerced;
  let taskIds = 0;
  let starts = 0;
  for (const field of rootFields(operation.selectionSet, fragments, new Set())) {
    switch (field.name.value) {
      case "userAccessTask":
        taskIds += 1;
        break;
      case "userAccessTasks":
        taskIds += listLength(argumentsOf(rootType, field, variables)["ids"]);
        break;
      case "_entities":
        taskIds += listLength(argumentsOf(rootType, field, variables)["representations"]);
        break;
      case "startUserAccessTasks":
        starts += 1;
    }
  }
  return { taskIds, starts };
}

function argumentsOf(rootType: GraphQLObjectType, field: FieldNode, variables: Record<string, unknown>): Record<string, unknown> {
  const definition = rootType.getFields()[field.name.value];
  return definition === undefined ? {} : getArgumentValues(definition, field, variables);
}

function listLength(value: unknown): number {
  return Array.isArray(value) ? value.length : value === undefined || value === null ? 0 : 1;
}

/** The root fields of a selection set, through inline fragments and fragment spreads. */
function* rootFields(selectionSet: SelectionSetNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>, seen: Set<string>): Generator<FieldNode> {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) yield selection;
    else if (selection.kind === Kind.INLINE_FRAGMENT) yield* rootFields(selection.selectionSet, fragments, seen);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = fragments.get(selection.name.value);
      if (fragment) yield* rootFields(fragment.selectionSet, fragments, seen);
    }
  }
}
