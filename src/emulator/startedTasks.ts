import type { Clock } from "../lib/Clock.js";
import { randomUUID } from "node:crypto";
import type { ResultStatus, UserAccessResultItem, UserAccessTaskItem } from "../appfabric/types.js";
import { DEMO_APPS, type DemoApp, type StartPlan } from "./demoData.js";

/** How one application answers a start: its tenant and its plan, from the one table of demo apps. */
type AppPlan = Pick<DemoApp, "app" | "tenantId" | "tenantDisplayName"> & StartPlan;

const APPS: readonly AppPlan[] = DEMO_APPS.map(({ app, tenantId, tenantDisplayName, start }) => ({ app, tenantId, tenantDisplayName, ...start }));

/** A task the emulator started: what it will say about it at any moment. */
export interface StartedTask {
  taskId: string;
  app: string;
  /** Where it ends up. */
  finalStatus: Exclude<ResultStatus, "IN_PROGRESS">;
  /** When it gets there, on the emulator's task clock (ms). */
  finishesAt: number;
}

interface Running extends StartedTask {
  plan: AppPlan;
  email: string;
}

/**
 * The tasks `StartUserAccessTasks` started in the emulator. A task is IN_PROGRESS until its
 * application's time comes (scaled by `unitMs`), then COMPLETED with the user's details, FAILED with
 * a `taskError`, or EXPIRED, so that polling shows real change.
 */
export class StartedTasks {
  /** The most started tasks kept: the oldest are forgotten (as AWS expires results), so memory stays bounded. */
  static readonly MAX_TASKS = 10_000;
  readonly #running = new Map<string, Running>();
  readonly #unitMs: number;
  readonly #now: Clock;

  constructor(unitMs: number, now: Clock = Date.now) {
    this.#unitMs = unitMs;
    this.#now = now;
  }

  /** Starts one task per application; returns AppFabric's answer items. */
  start(email: string): UserAccessTaskItem[] {
    const startedAt = this.#now();
    return APPS.map((plan) => {
      if (plan.startError || !plan.outcome) return { app: plan.app, tenantId: plan.tenantId, error: plan.startError };
      const taskId = randomUUID();
      this.#running.set(taskId, {
        taskId,
        app: plan.app,
        finalStatus: plan.outcome.status,
        plan,
        email,
        finishesAt: startedAt + plan.outcome.after * this.#unitMs,
      });
      if (this.#running.size > StartedTasks.MAX_TASKS) this.#running.delete(this.#running.keys().next().value ?? "");
      return { app: plan.app, tenantId: plan.tenantId, taskId };
    });
  }

  /** Every task started so far, for tests to compare with what a client shows. */
  list(): StartedTask[] {
    return [...this.#running.values()].map(({ taskId, app, finalStatus, finishesAt }) => ({ taskId, app, finalStatus, finishesAt }));
  }

  /** The result item for a started task as of now, or undefined for an id it never started. */
  view(taskId: string): UserAccessResultItem | undefined {
    const task = this.#running.get(taskId);
    if (task === undefined) return undefined;
    const base = { taskId, app: task.app, tenantId: task.plan.tenantId, tenantDisplayName: task.plan.tenantDisplayName, email: task.email };
    const outcome = task.plan.outcome;
    if (outcome === undefined || this.#now() < task.finishesAt) return { ...base, resultStatus: "IN_PROGRESS" };
    if (outcome.status === "FAILED") return { ...base, resultStatus: "FAILED", taskError: outcome.taskError };
    if (outcome.status === "EXPIRED") return { ...base, resultStatus: "EXPIRED" };
    return { ...base, resultStatus: "COMPLETED", ...namesFrom(task.email), userId: `U${taskId.slice(0, 8).toUpperCase()}`, userStatus: outcome.userStatus };
  }
}

/** A plausible name from an email's local part: jordan.rivers@… → Jordan Rivers. */
function namesFrom(email: string): Pick<UserAccessResultItem, "userFullName" | "userFirstName" | "userLastName"> {
  const parts = (email.split("@")[0] ?? "")
    .split(/[._-]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1));
  const [first = "", ...rest] = parts;
  return { userFullName: parts.join(" "), userFirstName: first, userLastName: rest.join(" ") || undefined };
}
