import { ApolloServerErrorCode } from "@apollo/server/errors";
import {
  getOperationAST,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { SubscribePayload } from "graphql-ws";
import { requestRefusedError } from "../../errors/requestErrors.js";
import type { OperationLimits } from "../operationLimits.js";
import { checkOperationCost } from "../operationLimitsPlugin.js";
import { admitDocument, documentRequestOf, type TrustedDocuments } from "./trustedDocuments.js";

/** The document rules and limits of one kind of caller (client or router), as HTTP applies them through Apollo. */
export interface DocumentProfile {
  limits: OperationLimits;
  /** The validation rules and token bound of HTTP requests of the same caller (see `documentRules`). */
  rules: { validationRules: NonNullable<Parameters<typeof validate>[2]>; maxTokens: number };
  /** PERSISTED_DOCUMENTS, for direct callers only: what they may run. */
  trustedDocuments?: TrustedDocuments;
}

/** A subscription that may run, or the errors that refuse it (nothing ran). */
export type Admission = { ok: true; document: DocumentNode; operation: OperationDefinitionNode } | { ok: false; errors: GraphQLError[] };

/**
 * What a subscription request over WebSocket passes before it runs, in HTTP's order and with HTTP's
 * codes: parsed within the profile's token bound, one operation chosen by name, a subscription (queries
 * and mutations go over HTTP), no conditional root field, valid under the profile's rules, and within
 * its cost bounds. A plain function: no socket, no connection state.
 */
export function admitSubscription(schema: GraphQLSchema, profile: DocumentProfile, payload: SubscribePayload): Admission {
  const refuse = (error: GraphQLError): Admission => ({ ok: false, errors: [error] });
  let query = payload.query;
  if (profile.trustedDocuments !== undefined) {
    const sent: Record<string, unknown> = { ...payload };
    const trusted = admitDocument(profile.trustedDocuments, documentRequestOf(payload.query, sent["documentId"], payload.extensions));
    if (trusted.kind === "refused") return refuse(trusted.error);
    if (trusted.kind === "listed") query = trusted.query;
  }
  let document: DocumentNode;
  try {
    document = parse(query, { maxTokens: profile.rules.maxTokens });
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : "The query could not be parsed.";
    return refuse(requestRefusedError(message, ApolloServerErrorCode.GRAPHQL_PARSE_FAILED, error));
  }
  const operation = getOperationAST(document, payload.operationName);
  if (operation === null || operation === undefined) {
    return refuse(requestRefusedError("Name the operation to run (operationName): the document has none, or more than one, by that name."));
  }
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) {
    return refuse(requestRefusedError("Only subscriptions are served over WebSocket; send queries and mutations over HTTP to the same URL."));
  }
  // Before validation: graphql-js 16 throws (in validation, then in `subscribe`) on a conditional
  // root field instead of reporting it; the spec's newer editions forbid it.
  if (hasConditionalRootField(operation.selectionSet, document)) {
    return refuse(
      requestRefusedError(
        "A subscription's root field may not be skipped or included conditionally (@skip, @include).",
        ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
      ),
    );
  }
  const invalid = validate(schema, document, [...specifiedRules, ...profile.rules.validationRules]);
  if (invalid.length > 0) {
    return { ok: false, errors: invalid.map((error) => requestRefusedError(error.message, ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED, error)) };
  }
  try {
    checkOperationCost(profile.limits, operation, document, payload.variables ?? {});
  } catch (error) {
    if (error instanceof GraphQLError) return refuse(error);
    throw error;
  }
  return { ok: true, document, operation };
}

/** Whether a root selection (or a fragment holding one) carries `@skip` or `@include`. */
function hasConditionalRootField(selectionSet: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): boolean {
  for (const selection of selectionSet.selections) {
    if (selection.directives?.some((directive) => directive.name.value === "skip" || directive.name.value === "include")) return true;
    if (selection.kind === Kind.INLINE_FRAGMENT && hasConditionalRootField(selection.selectionSet, document, seen)) return true;
    if (selection.kind === Kind.FRAGMENT_SPREAD && !seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = document.definitions.find(
        (definition) => definition.kind === Kind.FRAGMENT_DEFINITION && definition.name.value === selection.name.value,
      );
      if (fragment?.kind === Kind.FRAGMENT_DEFINITION && hasConditionalRootField(fragment.selectionSet, document, seen)) return true;
    }
  }
  return false;
}
