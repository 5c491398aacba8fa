import { TraceFlags, type SpanContext } from "@opentelemetry/api";
import type { CallTrace } from "../appfabric/callEvents.js";
import type { UserAccessResultItem } from "../appfabric/types.js";

// What the cross-operation batcher keeps per id and per call, and the trace a call carries.

export type Result = UserAccessResultItem | undefined;

/** One id on its way to AppFabric, shared by every operation that asked for it. */
export interface Entry {
  taskId: string;
  /** The caller whose place in line it holds (the first to ask for it); "" for loads with no caller. */
  owner: string;
  /** Operations still waiting for this id. At 0 it leaves the line, or stops holding its call up. */
  askers: number;
  promise: Promise<Result>;
  resolve: (result: Result) => void;
  reject: (error: Error) => void;
  /** The call carrying it, once it has left the line. */
  call?: Call;
  /** The spans of the traced operations waiting for it (at most MAX_LINKS), in the order they asked. */
  origins?: SpanContext[];
}

/** One `BatchGetUserAccessTasks` call under way. */
export interface Call {
  /** Ids of the call that someone still waits for. At 0 the call is cancelled. */
  wanted: number;
  controller: AbortController;
  /** The callers whose ids it carries. */
  owners: ReadonlySet<string>;
}

/** Links past this many are left off a call's spans (OpenTelemetry's default limit is 128). */
export const MAX_LINKS = 32;

/**
 * Which traced operations a call serves, as it leaves: the first *sampled* operation still waiting
 * for one of its ids is the parent of its spans (so that a caller's "not sampled", or a caller who
 * left, never hides the call from a trace that is kept); the other sampled ones are linked. Only when
 * none is sampled is the first the parent, and the call's spans then follow its decision. An
 * operation that joins an id once its call has left is served by it but not linked.
 */
export function traceOf(batch: readonly Entry[]): CallTrace | undefined {
  if (!batch.some((entry) => entry.origins !== undefined && entry.origins.length > 0)) return undefined; // tracing off
  const origins = batch.flatMap((entry) => entry.origins ?? []);
  const sampled = origins.filter((origin) => (origin.traceFlags & TraceFlags.SAMPLED) !== 0);
  const [parent] = sampled.length > 0 ? sampled : origins;
  if (parent === undefined) return undefined;
  const links = new Map<string, SpanContext>();
  for (const origin of sampled) {
    if (origin.spanId !== parent.spanId && links.size < MAX_LINKS) links.set(origin.spanId, origin);
  }
  return { parent, links: [...links.values()] };
}

export function newEntry(taskId: string, owner: string): Entry {
  let resolve!: (result: Result) => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<Result>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A shared answer may fail after every asker gave up; that is not an unhandled rejection.
  promise.catch(() => undefined);
  return { taskId, owner, askers: 0, promise, resolve, reject };
}
