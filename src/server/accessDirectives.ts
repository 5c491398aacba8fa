import { Kind, parse, visit, type ConstDirectiveNode, type DocumentNode, type StringValueNode } from "graphql";
import type { RequiredScopes } from "../callers/access.js";

/** What the subgraph enforces about its callers, as the schema tells routers. */
export interface SchemaAccess {
  /** Every request must be authenticated by a JWT (JWT verification is on). */
  authenticated: boolean;
  scopes: RequiredScopes;
}

/** The type every read returns (root fields, `_entities`, the subscription) and the one field that starts. */
const READ_TYPE = "UserAccessTask";
const START_FIELD = { type: "Mutation", field: "startUserAccessTasks" };

/**
 * The type definitions with Federation's `@authenticated` and `@requiresScopes` (both Federation 2.5)
 * where this subgraph enforces the same, so that a router that enforces them (Apollo Router, Hive
 * Gateway's generic auth) refuses before asking it: on `UserAccessTask` (every field returning it,
 * `_entities` included) the read scope, on `startUserAccessTasks` the start scope. Only what the
 * subgraph itself checks is declared: a router whose users are not authenticated by a JWT must not be
 * told to refuse them.
 */
export function withAccessDirectives(typeDefs: DocumentNode, access: SchemaAccess | undefined): DocumentNode {
  if (access === undefined || (!access.authenticated && Object.keys(access.scopes).length === 0)) return typeDefs;
  const directivesFor = (scope: string | undefined): ConstDirectiveNode[] => [
    ...(access.authenticated ? [directive("@authenticated")] : []),
    ...(scope === undefined ? [] : [directive(`@requiresScopes(scopes: [[${JSON.stringify(scope)}]])`)]),
  ];
  const imports = [...(access.authenticated ? ["@authenticated"] : []), ...(Object.keys(access.scopes).length > 0 ? ["@requiresScopes"] : [])];
  return visit(typeDefs, {
    SchemaExtension(node) {
      return {
        ...node,
        directives: node.directives?.map((link) => ({
          ...link,
          arguments: link.arguments?.map((argument) =>
            argument.name.value === "import" && argument.value.kind === Kind.LIST
              ? { ...argument, value: { ...argument.value, values: [...argument.value.values, ...imports.map(stringValue)] } }
              : argument,
          ),
        })),
      };
    },
    ObjectTypeDefinition(node) {
      if (node.name.value === READ_TYPE) return { ...node, directives: [...(node.directives ?? []), ...directivesFor(access.scopes.read)] };
      if (node.name.value !== START_FIELD.type) return undefined;
      return {
        ...node,
        fields: node.fields?.map((field) =>
          field.name.value === START_FIELD.field ? { ...field, directives: [...(field.directives ?? []), ...directivesFor(access.scopes.start)] } : field,
        ),
      };
    },
  });
}

function directive(text: string): ConstDirectiveNode {
  const parsed = parse(`scalar S ${text}`).definitions[0];
  if (parsed?.kind !== Kind.SCALAR_TYPE_DEFINITION || parsed.directives?.[0] === undefined) throw new Error(`Not a directive: ${text}`);
  return parsed.directives[0];
}

function stringValue(value: string): StringValueNode {
  return { kind: Kind.STRING, value };
}
