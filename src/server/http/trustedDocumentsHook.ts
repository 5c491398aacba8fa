import type { FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../../errors/ErrorCode.js";
import { isRecord } from "../../lib/isRecord.js";
import { admitDocument, documentRequestOf, type DocumentRequest, type TrustedDocuments } from "../admission/trustedDocuments.js";
import { errorBody } from "./refusals.js";

/**
 * PERSISTED_DOCUMENTS on the direct callers' route, before Apollo reads the request: a listed id is
 * replaced by its document (so Apollo runs what the manifest holds), and what may not run is refused
 * here, before anything is parsed, in GraphQL's error shape. A request naming no document at all
 * (Sandbox's page, a malformed request) goes on to Apollo, which serves or refuses it as usual.
 */
export function trustedDocumentsHook(trusted: TrustedDocuments) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const target = request.method === "POST" ? fromBody(request.body) : request.method === "GET" ? fromSearch(request) : undefined;
    if (target === undefined || (target.sent.query === undefined && target.sent.documentId === undefined && target.sent.sha256Hash === undefined)) return;
    const admission = admitDocument(trusted, target.sent);
    if (admission.kind === "refused") {
      request.refusal = "untrusted_document";
      await reply.code(400).send(errorBody(admission.error.message, ErrorCode.PERSISTED_QUERY_NOT_IN_LIST));
      return;
    }
    if (admission.kind === "listed") target.replace(admission.query);
  };
}

interface Target {
  sent: DocumentRequest;
  /** Puts the listed document where Apollo reads the query, and takes the id out. */
  replace(query: string): void;
}

function fromBody(body: unknown): Target | undefined {
  if (!isRecord(body)) return undefined;
  const extensions = isRecord(body["extensions"]) ? body["extensions"] : undefined;
  return {
    sent: documentRequestOf(body["query"], body["documentId"], extensions),
    replace(query) {
      body["query"] = query;
      delete body["documentId"];
      if (extensions !== undefined) delete extensions["persistedQuery"];
    },
  };
}

function fromSearch(request: FastifyRequest): Target {
  const url = new URL(request.url, "http://service.invalid");
  const params = url.searchParams;
  let extensions: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(params.get("extensions") ?? "null");
    extensions = isRecord(parsed) ? parsed : undefined;
  } catch {
    extensions = undefined;
  }
  return {
    sent: documentRequestOf(params.get("query") ?? undefined, params.get("documentId") ?? undefined, extensions),
    replace(query) {
      params.set("query", query);
      params.delete("documentId");
      if (extensions !== undefined) {
        delete extensions["persistedQuery"];
        params.set("extensions", JSON.stringify(extensions));
      }
      // Apollo's integration reads the query string from the URL when its handler runs.
      request.raw.url = `${url.pathname}?${params.toString()}`;
    },
  };
}
