import type { SpanContext } from "@opentelemetry/api";
import type { TransportFailure } from "./errors.js";

/** The two AppFabric operations this service calls. */
export type AppFabricOperation = "BatchGetUserAccessTasks" | "StartUserAccessTasks";

/**
 * The traced GraphQL operations a call serves: the one whose span is the call's parent, and links to
 * the others (a shared call serves several). Empty when tracing is off.
 */
export interface CallTrace {
  parent: SpanContext;
  links: readonly SpanContext[];
}

/** One attempt as it starts. */
export interface AppFabricAttempt {
  operation: AppFabricOperation;
  /** How many task ids the call carries. */
  ids: number;
  /** 1 for the first attempt. */
  attempt: number;
  trace?: CallTrace;
}

/**
 * Watches AppFabric call attempts, for logs, metrics and traces: told when an attempt starts, it
 * returns what to tell when the attempt ends. Must not throw.
 */
export interface AppFabricCallObserver {
  attemptStarted(attempt: AppFabricAttempt): (event: AppFabricCallEvent) => void;
  /** AppFabric's `Date` showed this host's clock 5 minutes or more off; requests are now signed `offsetMs` ahead (negative: behind). */
  clockSkewCorrected?(offsetMs: number): void;
}

/** Several observers as one. */
export function observeAll(observers: ReadonlyArray<AppFabricCallObserver | undefined>): AppFabricCallObserver {
  const present = observers.filter((observer) => observer !== undefined);
  const [only] = present;
  if (present.length === 1 && only !== undefined) return only; // tracing off: no wrapper per attempt
  return {
    attemptStarted: (attempt) => {
      const ends = present.map((observer) => observer.attemptStarted(attempt));
      return (event) => ends.forEach((end) => end(event));
    },
    clockSkewCorrected: (offsetMs) => present.forEach((observer) => observer.clockSkewCorrected?.(offsetMs)),
  };
}

/** One finished AppFabric call attempt, as logs and metrics see it. Carries no ids, names or emails. */
export interface AppFabricCallEvent {
  operation: AppFabricOperation;
  /** How many task ids the call carried. */
  ids: number;
  /** 1 for the first attempt. */
  attempt: number;
  /** The HTTP status, or what happened instead of one (`not_sent`: its callers had gone before it left). */
  outcome: number | TransportFailure | "credentials" | "not_sent";
  /** The AWS error type of an error answer. */
  errorType?: string;
  awsRequestId?: string;
  /** The answer refused this host's clock, which is now corrected: the attempt after it is signed on AppFabric's time. */
  clockSkewCorrected?: true;
  durationMs: number;
}

/**
 * What went wrong in an attempt, as logs, metrics and traces report it: the AWS error type or status
 * of an error answer, the transport failure, or undefined for a success and for a call cancelled
 * because its callers left (`deadline`, `not_sent`), which is no failure of AppFabric's.
 */
export function failureOf(event: Pick<AppFabricCallEvent, "outcome" | "errorType">): string | undefined {
  if (typeof event.outcome === "number") return event.outcome >= 400 ? (event.errorType ?? String(event.outcome)) : undefined;
  return event.outcome === "deadline" || event.outcome === "not_sent" ? undefined : event.outcome;
}
