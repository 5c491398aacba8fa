import { createHash } from "node:crypto";
import { GraphQLError, parse, validate, type GraphQLSchema } from "graphql";
import { untrustedDocumentError } from "../../errors/requestErrors.js";
import { isRecord } from "../../lib/isRecord.js";

/**
 * The documents a deployment's own frontends ship, by the id their clients send: Apollo's persisted
 * query manifest (`@apollo/generate-persisted-query-manifest`) or GraphQL Code Generator's client
 * preset `persisted-documents.json`, read once at start.
 */
export interface TrustedDocuments {
  mode: "allow" | "require";
  /** id (without a `sha256:` prefix) → the document's text and, when the manifest names it, its operation's name. */
  byId: ReadonlyMap<string, { body: string; name?: string }>;
  /** sha256 (hex) of each listed document's text: a listed document sent in full is one of them. */
  bodies: ReadonlySet<string>;
}

/** An id as clients send it: a hash, possibly with its algorithm (`sha256:…`, as GraphQL over HTTP's documentId allows). */
const ID = /^[\w.:-]{1,160}$/;
const MAX_DOCUMENTS = 10_000;

const withoutAlgorithm = (id: string): string => id.replace(/^sha256:/i, "");

export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");

/**
 * Reads a manifest: `{ format: "apollo-persisted-query-manifest", version: 1, operations: [{ id,
 * name, type, body }] }` or the client preset's `{ "<hash>": "<document>" }`. Returns the list, or
 * what is wrong with it in one line (never the documents themselves).
 */
export function parseManifest(text: string): Map<string, { body: string; name?: string }> | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return "not JSON";
  }
  if (!isRecord(json)) return "not a JSON object";
  const entries: [string, unknown, unknown][] =
    json["format"] === "apollo-persisted-query-manifest"
      ? apolloEntries(json)
      : Object.entries(json).map(([id, body]) => [id, body, undefined] as [string, unknown, unknown]);
  if (entries.length === 0) return "no documents";
  if (entries.length > MAX_DOCUMENTS) return `more than ${MAX_DOCUMENTS} documents`;
  const list = new Map<string, { body: string; name?: string }>();
  for (const [index, [id, body, name]] of entries.entries()) {
    if (!ID.test(id)) return `entry ${index + 1}: its id is not a hash (letters, digits, _ . : -, at most 160)`;
    if (typeof body !== "string" || body.trim() === "") return `entry ${index + 1} (${id.slice(0, 16)}…): its document is not a string`;
    // The client preset writes `sha256:<hex>`, Apollo's manifest and persisted query link `<hex>`: one key for both.
    const key = withoutAlgorithm(id);
    if (list.has(key)) return `entry ${index + 1}: id ${id.slice(0, 16)}… is listed twice`;
    list.set(key, typeof name === "string" ? { body, name } : { body });
  }
  return list;
}

function apolloEntries(json: Record<string, unknown>): [string, unknown, unknown][] {
  const operations = json["operations"];
  if (json["version"] !== 1 || !Array.isArray(operations)) return [];
  return operations.map((operation) =>
    isRecord(operation) && typeof operation["id"] === "string" ? [operation["id"], operation["body"], operation["name"]] : ["", undefined, undefined],
  );
}

/**
 * Each listed document parsed and validated against the schema once, as a start does it: the first
 * that fails, named by its operation (or id), and why; undefined when all are valid.
 */
export function invalidListedDocument(list: ReadonlyMap<string, { body: string; name?: string }>, schema: GraphQLSchema): string | undefined {
  for (const [id, { body, name }] of list) {
    const label = `${name ?? "an operation"} (id ${id.slice(0, 16)}…)`;
    let errors: readonly GraphQLError[];
    try {
      errors = validate(schema, parse(body));
    } catch (error) {
      return `${label} does not parse: ${error instanceof GraphQLError ? error.message : "syntax error"}`;
    }
    if (errors.length > 0) return `${label} is not valid against the schema: ${errors[0]?.message ?? ""}`;
  }
  return undefined;
}

/** What one request carries that can name a document: its text, an id, or both. */
export interface DocumentRequest {
  query?: string;
  /** GraphQL over HTTP's `documentId` (also what the client preset's clients send). */
  documentId?: string;
  /** Apollo's `extensions.persistedQuery.sha256Hash` (persisted query link, APQ). */
  sha256Hash?: string;
}

/**
 * What a request's fields name, as GraphQL over HTTP, Apollo's persisted query link and graphql-ws
 * put them (a query string, a `documentId`, `extensions.persistedQuery.sha256Hash`); anything of
 * another type names nothing.
 */
export function documentRequestOf(query: unknown, documentId: unknown, extensions: unknown): DocumentRequest {
  const persisted = isRecord(extensions) ? extensions["persistedQuery"] : undefined;
  const sha256Hash = isRecord(persisted) && typeof persisted["sha256Hash"] === "string" ? persisted["sha256Hash"] : undefined;
  return {
    ...(typeof query === "string" ? { query } : {}),
    ...(typeof documentId === "string" ? { documentId } : {}),
    ...(sha256Hash === undefined ? {} : { sha256Hash }),
  };
}

/** Run as sent; run this listed document instead of what was sent; or refuse before parsing. */
export type DocumentAdmission = { kind: "as_sent" } | { kind: "listed"; query: string } | { kind: "refused"; error: GraphQLError };

/**
 * What a direct caller's request may run (a router's query plans are exempt, see `callerProfiles`):
 * a listed id runs its listed document, whatever text came with it. Otherwise, in `allow` mode
 * everything runs as sent (an unknown `documentId` has nothing to run and is refused; an unknown
 * `sha256Hash` goes on to Apollo's APQ); in `require` mode only a listed document's exact text does,
 * sent without an id (an id that names nothing listed is refused, whatever text comes with it).
 */
export function admitDocument(trusted: TrustedDocuments, request: DocumentRequest): DocumentAdmission {
  const id = request.documentId ?? request.sha256Hash;
  const listed = id === undefined ? undefined : trusted.byId.get(withoutAlgorithm(id));
  if (listed !== undefined) return { kind: "listed", query: listed.body };
  if (request.documentId !== undefined) return refused("This documentId is not one of this service's persisted documents.");
  if (trusted.mode === "allow") return { kind: "as_sent" };
  if (id === undefined && request.query !== undefined && trusted.bodies.has(sha256Hex(request.query))) return { kind: "as_sent" };
  return refused(
    id === undefined
      ? "This service runs only the operations its frontends ship: send a persisted document's id (documentId, or extensions.persistedQuery.sha256Hash)."
      : "This persisted query id is not one of this service's persisted documents.",
  );
}

function refused(message: string): DocumentAdmission {
  return { kind: "refused", error: untrustedDocumentError(message) };
}
