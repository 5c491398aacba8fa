import { GraphQLError } from "graphql";
import { ErrorCode } from "./ErrorCode.js";

/**
 * Refusals of a whole request, before anything runs: what the caller reads, and the HTTP status
 * Apollo answers with. Every message ends by saying that nothing was run or sent.
 */

/** Authentication failed (401), or could not be checked because the identity provider is out of reach (503). */
export function notAuthenticatedError(message: string, status: 401 | 503): GraphQLError {
  const unavailable = status === 503;
  return new GraphQLError(message, {
    extensions: { code: unavailable ? ErrorCode.AUTHENTICATION_UNAVAILABLE : ErrorCode.UNAUTHENTICATED, retryable: unavailable, http: { status } },
  });
}

/** The caller hung up before its operation ran (499: nobody reads this answer; it is for the log). */
export function callerGoneError(): GraphQLError {
  return new GraphQLError("The caller hung up before the operation ran. Nothing was run.", {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 499 } },
  });
}

/** The caller's Accept allows none of the response types this service writes. */
export function notAcceptableError(responseTypes: readonly string[]): GraphQLError {
  return new GraphQLError(`Send an Accept header that allows ${responseTypes.join(" or ")}. Nothing was run.`, {
    extensions: { code: ErrorCode.BAD_REQUEST, http: { status: 406 } },
  });
}

/** A subscription sent over HTTP, which has no subscriptions. */
export function subscriptionsOverHttpError(): GraphQLError {
  return new GraphQLError("Subscriptions are served over WebSocket (the graphql-ws protocol) at this same URL, not over HTTP. Nothing was run.", {
    extensions: { code: ErrorCode.BAD_REQUEST, retryable: false, http: { status: 400 } },
  });
}

/** An operation listing more task ids than one operation may. */
export function tooManyTaskIdsError(listed: number, allowed: number): GraphQLError {
  return new GraphQLError(
    `This operation lists ${listed} task ids (duplicates included); at most ${allowed} are allowed in one operation. ` +
      "Split it into several. Nothing was sent to AppFabric.",
    { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } } },
  );
}

/** Refusal of an operation whose answer would hold too many fields: listed ids × fields selected for each. */
export function answerTooLargeError(fields: number, allowed: number): GraphQLError {
  return new GraphQLError(
    `This operation asks for ${fields} fields in all (each listed task id times the fields selected for it); at most ${allowed} are allowed. ` +
      "Select fewer fields or split it. Nothing was sent to AppFabric.",
    { extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } } },
  );
}

/** `_service { sdl }` asked for more than once: the whole schema text each time, for no use. */
export function oneServicePerOperationError(): GraphQLError {
  return new GraphQLError("Ask for _service once per operation: each one answers the whole schema text.", {
    extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } },
  });
}

/** One `_entities` representation that cannot be resolved; the others still are. */
export function badRepresentationError(index: number, problem: string): GraphQLError {
  return new GraphQLError(`Representation ${index} ${problem}. It was not resolved.`, {
    extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false },
  });
}

/** Refusal to persist (APQ) a document that holds an email address as a literal: it would be kept in Redis and in memory for an hour. */
export function literalEmailInPersistedDocumentError(): GraphQLError {
  return new GraphQLError("This document holds an email address as a literal and is not persisted: pass the email as a variable. Nothing was run.", {
    extensions: { code: ErrorCode.BAD_USER_INPUT, retryable: false, http: { status: 400 } },
  });
}

/**
 * A refusal of a subscription request before it runs, coded as Apollo codes the same refusal over
 * HTTP (`BAD_REQUEST` unless told), located in the document when it comes from a parse or validation error.
 */
export function requestRefusedError(message: string, code: string = ErrorCode.BAD_REQUEST, source?: unknown): GraphQLError {
  const located = source instanceof GraphQLError ? { nodes: source.nodes, source: source.source, positions: source.positions } : {};
  return new GraphQLError(message, { ...located, extensions: { code } });
}

/** PERSISTED_DOCUMENTS: the request may not run what it names or sends (400); `message` says which. */
export function untrustedDocumentError(message: string): GraphQLError {
  return new GraphQLError(`${message} Nothing was run.`, {
    extensions: { code: ErrorCode.PERSISTED_QUERY_NOT_IN_LIST, retryable: false, http: { status: 400 } },
  });
}
