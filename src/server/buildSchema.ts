import { readFileSync } from "node:fs";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { assertResolversPresent } from "@graphql-tools/schema";
import { parse, type DocumentNode, type GraphQLSchema } from "graphql";
import { resolvers } from "../resolvers/index.js";
import { withAccessDirectives, type SchemaAccess } from "./accessDirectives.js";
import { guardEntityRepresentations } from "./guardEntityRepresentations.js";

/** The schema files, listed rather than scanned, in the order they are read. */
const SCHEMA_FILES = ["user-access.graphql"] as const;
const SCHEMA_DIR = new URL("../../schema/", import.meta.url);

/**
 * The subgraph's type definitions, as written in `schema/`, with the access directives of a
 * deployment that checks JWTs or scopes (see `withAccessDirectives`).
 */
export function loadTypeDefs(access?: SchemaAccess): DocumentNode {
  return withAccessDirectives(parse(SCHEMA_FILES.map((file) => readFileSync(new URL(file, SCHEMA_DIR), "utf8")).join("\n")), access);
}

/**
 * The executable Federation 2 subgraph schema. `buildSubgraphSchema` adds `_service`/`_entities` and
 * wires `__resolveReference`; `assertResolversPresent` then fails the start if any field that takes
 * arguments has no resolver, so schema and resolvers cannot drift apart unnoticed.
 */
export function buildSchema(access?: SchemaAccess): GraphQLSchema {
  const schema = buildSubgraphSchema([{ typeDefs: loadTypeDefs(access), resolvers }]);
  assertResolversPresent(schema, { requireResolversForArgs: "error" });
  guardEntityRepresentations(schema);
  return schema;
}
