import type { Span } from "@opentelemetry/api";
import { deadlineError } from "../appfabric/errors.js";
import type { UserAccessTaskSource } from "../loaders/UserAccessTaskSource.js";
import { UserAccessTaskLoader } from "../loaders/UserAccessTaskLoader.js";
import { refusalOf, type Action } from "../callers/access.js";
import type { Caller } from "../callers/Caller.js";
import type { CallerRules } from "../callers/CallerRules.js";
import type { GraphQLContext, TaskStarter } from "../resolvers/context.js";
import { oneStartPerOperationError } from "../errors/startErrors.js";

export interface OperationOptions {
  source: UserAccessTaskSource;
  starter: TaskStarter;
  requestId: string;
  caller: Caller;
  rules: CallerRules;
  /** The operation's deadline. */
  deadlineMs: number;
  /** Its span, when tracing is on: ended with the operation, and the parent of its AppFabric calls. */
  span?: Span;
}

/** One GraphQL operation: its context, and the two ways it ends. */
export interface Operation {
  context: GraphQLContext;
  /** The caller has gone (it hung up before the answer): stop its AppFabric work now. */
  abandon(): void;
  /** The answer is out (or the caller has gone): clear the deadline timer. Safe to call twice. */
  end(): void;
}

/**
 * A fresh operation: its own loader, so no cache is shared between callers, and one signal that aborts
 * when the deadline passes or the caller goes away, after which nothing more is sent to AppFabric for
 * it. Whoever creates an operation owns its end: the HTTP layer calls `end` when the response closes,
 * whether or not any plugin ran. The deadline is a timer that `end` clears, rather than
 * `AbortSignal.timeout`, whose timer would outlive every operation by the whole timeout.
 */
export function createOperation({ source, starter, requestId, caller, rules, deadlineMs, span }: OperationOptions): Operation {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(deadlineError()), deadlineMs);
  timer.unref();
  let started = false;
  const context: GraphQLContext = {
    requestId,
    caller,
    authorize: (action) => authorize(caller, action, rules),
    userAccessTasks: new UserAccessTaskLoader(source, { deadline: controller.signal, trace: span?.spanContext(), caller: caller.key }),
    startUserAccessTasks: async (email) => {
      // The validation plugin refuses a second start field before execution; this is the backstop.
      if (started) throw oneStartPerOperationError();
      started = true;
      authorize(caller, "start", rules);
      await rules.budgets.takeStart(caller.key);
      let apps: string[] = [];
      let outcome: "started" | "failed" = "failed";
      try {
        const items = await starter.startUserAccessTasks(email, { signal: controller.signal, trace: span && { parent: span.spanContext(), links: [] } });
        apps = items.flatMap((item) => (item.taskId === undefined ? [] : [item.app]));
        outcome = "started";
        return items;
      } finally {
        rules.audit.start({ requestId, caller, email, apps, outcome });
      }
    },
    log: { written: false, callerGone: false },
    ...(span === undefined ? {} : { span }),
  };
  let ended = false;
  return {
    context,
    abandon: () => {
      context.log.callerGone = true;
      controller.abort(deadlineError());
    },
    end: () => {
      clearTimeout(timer);
      if (!ended) span?.end();
      ended = true;
    },
  };
}

/** Throws the `FORBIDDEN` error of an action the caller's token does not allow. */
export function authorize(caller: Caller, action: Action, rules: Pick<CallerRules, "scopes">): void {
  const refusal = refusalOf(caller, action, rules.scopes);
  if (refusal !== undefined) throw refusal;
}
