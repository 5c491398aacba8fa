import type { GraphQLSchema } from "graphql";
import { isRecord } from "../lib/isRecord.js";
import { badRepresentationError } from "../errors/requestErrors.js";

/** The entity types this subgraph resolves from representations. */
const ENTITY_TYPES: ReadonlySet<string> = new Set(["UserAccessTask"]);

/**
 * `_entities` answers each representation at its own index. `@apollo/subgraph` throws for a whole
 * list when one representation names an unknown type (quoting the name into an error that reaches the
 * logs), and a `taskId` that is not a string would throw inside the loader. Here a bad representation
 * becomes `BAD_USER_INPUT` at its own path, quoting nothing of it, and its neighbours are resolved.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): void {
  const field = schema.getQueryType()?.getFields()["_entities"];
  const resolve = field?.resolve;
  if (field === undefined || resolve === undefined) return;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const representations = Array.isArray(args.representations) ? (args.representations as unknown[]) : [];
    return representations.map((representation, index) => {
      const problem = problemOf(representation);
      if (problem !== undefined) {
        return badRepresentationError(index, problem);
      }
      return (resolve(source, { representations: [representation] }, context, info) as unknown[])[0];
    });
  };
}

function problemOf(representation: unknown): string | undefined {
  if (!isRecord(representation)) return "is not an object";
  const typename = representation["__typename"];
  if (typeof typename !== "string" || !ENTITY_TYPES.has(typename)) {
    return `does not name a type this subgraph resolves (${[...ENTITY_TYPES].join(", ")}) in __typename`;
  }
  if (typeof representation["taskId"] !== "string") return "has no taskId string";
  return undefined;
}
