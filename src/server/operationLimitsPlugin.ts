import type { ApolloServerPlugin } from "@apollo/server";
import {
  Kind,
  OperationTypeNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { answerTooLargeError, oneServicePerOperationError, subscriptionsOverHttpError, tooManyTaskIdsError } from "../errors/requestErrors.js";
import { MAX_STARTS_PER_OPERATION, oneStartPerOperationError } from "../errors/startErrors.js";
import type { GraphQLContext } from "../resolvers/context.js";
import { ANSWER_FIELDS_PER_TASK, type OperationLimits } from "./operationLimits.js";

/**
 * Refuses, before anything runs, an operation that lists more than `limits.maxTaskIds` task ids across
 * `userAccessTask`, `userAccessTasks`, `userAccessTasksUpdated` and `_entities` (aliases, fragments and variables included), more
 * than `limits.maxRootFieldTaskIds` of them in the two root fields, an answer of more than
 * `ANSWER_FIELDS_PER_TASK` fields per allowed id, that starts tasks more than once, or that asks for
 * `_service` more than once. Ids are counted as listed, duplicates and malformed ones included: each listed id costs an
 * answer (or an error) in the response, whatever it de-duplicates to. One request cannot make this
 * service fan out into thousands of AWS calls, nor write megabytes of errors.
 */
export function operationLimitsPlugin(limits: Pick<OperationLimits, "maxTaskIds" | "maxRootFieldTaskIds">): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (operation === undefined) return;
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) throw subscriptionsOverHttpError();
          checkOperationCost(limits, operation, document, request.variables ?? {});
        },
      };
    },
  };
}

/** Throws the first of `operationLimitsPlugin`'s refusals that `operation` deserves (see there). */
export function checkOperationCost(
  limits: Pick<OperationLimits, "maxTaskIds" | "maxRootFieldTaskIds">,
  operation: OperationDefinitionNode,
  document: DocumentNode,
  variables: Record<string, unknown>,
): void {
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  const { taskIds, rootFieldTaskIds, answerFields, starts, services } = countOperationCost(operation, fragments, variables);
  if (starts > MAX_STARTS_PER_OPERATION) throw oneStartPerOperationError();
  // The answer bound counts fields, and `_service { sdl }` is one field of about 6 KB: once is all anyone needs.
  if (services > 1) throw oneServicePerOperationError();
  if (rootFieldTaskIds > limits.maxRootFieldTaskIds) throw tooManyTaskIdsError(rootFieldTaskIds, limits.maxRootFieldTaskIds);
  if (taskIds > limits.maxTaskIds) throw tooManyTaskIdsError(taskIds, limits.maxTaskIds);
  const maxAnswerFields = limits.maxTaskIds * ANSWER_FIELDS_PER_TASK;
  if (answerFields > maxAnswerFields) throw answerTooLargeError(answerFields, maxAnswerFields);
}

/**
 * What an operation's root fields ask for: task ids as listed (in all, and in `userAccessTask(s)`),
 * and task starts. Read off the document
 * and the raw variables, without coercing them: a 20,000-item list is counted by its length, not
 * converted first. (Values that do not coerce are refused by graphql-js afterwards, as always.)
 */
export function countOperationCost(
  operation: OperationDefinitionNode,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  variables: Record<string, unknown>,
): { taskIds: number; rootFieldTaskIds: number; answerFields: number; starts: number; services: number } {
  let rootFieldTaskIds = 0;
  let entityTaskIds = 0;
  let answerFields = 0;
  let starts = 0;
  let services = 0;
  const leaves = leafCounter(fragments);
  // A variable the request leaves out takes its default value, written in the document.
  const defaults = new Map((operation.variableDefinitions ?? []).flatMap((d) => (d.defaultValue ? [[d.variable.name.value, d.defaultValue] as const] : [])));
  const listedCount = (value: ValueNode | undefined): number => countListed(value, variables, defaults);
  for (const field of rootFields(operation.selectionSet, fragments, new Set())) {
    switch (field.name.value) {
      case "userAccessTask":
        rootFieldTaskIds += 1;
        answerFields += leaves(field.selectionSet);
        break;
      case "userAccessTasks":
      case "userAccessTasksUpdated": {
        const listed = listedCount(argument(field, "ids"));
        rootFieldTaskIds += listed;
        answerFields += listed * leaves(field.selectionSet);
        break;
      }
      case "_entities": {
        const listed = listedCount(argument(field, "representations"));
        entityTaskIds += listed;
        answerFields += listed * leaves(field.selectionSet);
        break;
      }
      case "startUserAccessTasks":
        starts += 1;
        break;
      case "_service":
        services += 1;
    }
  }
  return { taskIds: rootFieldTaskIds + entityTaskIds, rootFieldTaskIds, answerFields, starts, services };
}

function argument(field: FieldNode, name: string): ValueNode | undefined {
  return field.arguments?.find((arg) => arg.name.value === name)?.value;
}

/**
 * How many items a list argument holds: a literal list's items, or a variable's raw array length (or
 * its default value's, when the request leaves the variable out).
 */
function countListed(value: ValueNode | undefined, variables: Record<string, unknown>, defaults: ReadonlyMap<string, ValueNode>): number {
  if (value === undefined || value.kind === Kind.NULL) return 0;
  if (value.kind === Kind.LIST) return value.values.length;
  if (value.kind === Kind.VARIABLE) {
    const name = value.name.value;
    if (!Object.hasOwn(variables, name)) return countListed(defaults.get(name), {}, new Map());
    const raw = variables[name];
    return Array.isArray(raw) ? raw.length : raw === undefined || raw === null ? 0 : 1;
  }
  return 1; // a single value where a list is expected: graphql-js treats it as a list of one
}

/**
 * How many leaf fields a selection set asks for, through inline fragments and fragment spreads, each
 * alias and each repetition counted (conservative: GraphQL merges repeated fields). A fragment's count
 * is computed once, so fragments that spread each other many times cost no more than their text.
 */
function leafCounter(fragments: ReadonlyMap<string, FragmentDefinitionNode>): (selectionSet: SelectionSetNode | undefined) => number {
  const byFragment = new Map<string, number>();
  const count = (selectionSet: SelectionSetNode | undefined): number => {
    if (selectionSet === undefined) return 1;
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) total += selection.selectionSet === undefined ? 1 : count(selection.selectionSet);
      else if (selection.kind === Kind.INLINE_FRAGMENT) total += count(selection.selectionSet);
      else {
        const name = selection.name.value;
        if (!byFragment.has(name)) {
          byFragment.set(name, 0); // a cycle (refused by validation before this runs) counts nothing
          const fragment = fragments.get(name);
          byFragment.set(name, fragment === undefined ? 0 : count(fragment.selectionSet));
        }
        total += byFragment.get(name) ?? 0;
      }
    }
    return total;
  };
  return count;
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
