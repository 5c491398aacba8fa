import type { ApolloServerPlugin } from "@apollo/server";
import {
  getArgumentValues,
  getVariableValues,
  GraphQLError,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { isRecord } from "../appfabric/isRecord.js";
import { ErrorCode } from "../errors/ErrorCode.js";
import type { GraphQLContext } from "./context.js";

/**
 * Refuses, before any AppFabric call, an operation that asks for more than `max` distinct task ids
 * across `userAccessTask`, `userAccessTasks` and `_entities` (aliases, fragments and variables
 * included). One request cannot make this service fan out into thousands of AWS calls.
 */
export function taskIdLimitPlugin(max: number): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (operation === undefined) return;
          const fragments = new Map(
            document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
          );
          const count = countTaskIds(schema, operation, fragments, request.variables ?? {});
          if (count > max) {
            throw new GraphQLError(
              `This operation asks for ${count} distinct task ids; at most ${max} are allowed in one operation. Split it into several.`,
              { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } } },
            );
          }
        },
      };
    },
  };
}

/** Distinct lower-cased task ids the operation's root fields name. */
export function countTaskIds(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  rawVariables: Record<string, unknown>,
): number {
  const queryType = schema.getQueryType();
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  if (operation.operation !== "query" || queryType === undefined || queryType === null || coerced.coerced === undefined) return 0;
  const variables = coerced.coerced;
  const ids = new Set<string>();
  const add = (value: unknown) => {
    if (typeof value === "string") ids.add(value.toLowerCase());
  };

  for (const field of rootFields(operation.selectionSet, fragments, new Set())) {
    const definition = queryType.getFields()[field.name.value];
    if (definition === undefined) continue;
    const args = getArgumentValues(definition, field, variables);
    switch (field.name.value) {
      case "userAccessTask":
        add(args["id"]);
        break;
      case "userAccessTasks":
        if (Array.isArray(args["ids"])) args["ids"].forEach(add);
        break;
      case "_entities":
        if (Array.isArray(args["representations"])) {
          for (const representation of args["representations"]) {
            if (isRecord(representation) && representation["__typename"] === "UserAccessTask") add(representation["taskId"]);
          }
        }
    }
  }
  return ids.size;
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
