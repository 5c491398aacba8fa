import type { ReceivedCall } from "./ReceivedCall.js";

/** A failure the emulator can be told to answer with, as AWS sometimes does. */
export type Fault =
  /** An AWS error answer: the type goes in `X-Amzn-Errortype`, as AWS sends it. */
  | { kind: "error"; status: number; errorType?: string; message?: string; retryAfter?: string }
  /** Wait, then answer normally. */
  | { kind: "delay"; ms: number }
  /** Drop the connection without answering. */
  | { kind: "reset" }
  /** Answer 200 with a body that is not JSON. */
  | { kind: "malformed" }
  /** Answer 200, promise more body than is sent, then close the connection. */
  | { kind: "truncated" }
  /** Answer 200 with the headers and half the body at once, the rest after `ms`. */
  | { kind: "slowBody"; ms: number };

export interface FaultRule {
  fault: Fault;
  /** Which calls it hits; all when absent. */
  when?: (call: Pick<ReceivedCall, "taskIdList" | "appBundleIdentifier">) => boolean;
  /** Only calls that carry this task id. */
  taskId?: string;
  /** Matching calls to let through before it starts. */
  skip?: number;
  /** How many calls it hits before it is used up; unlimited when absent. */
  times?: number;
  /** The chance (0..1) that it hits a matching call; 1 when absent. */
  probability?: number;
}

/** The first rule that matches this call, is not used up, has skipped enough, and wins its draw. */
export function takeFault(rules: FaultRule[], call: Pick<ReceivedCall, "taskIdList" | "appBundleIdentifier">, random: () => number): Fault | undefined {
  for (const rule of rules) {
    if ((rule.times ?? 1) <= 0) continue;
    if (!(rule.when?.(call) ?? true) || (rule.taskId !== undefined && !call.taskIdList.includes(rule.taskId))) continue;
    if ((rule.skip ?? 0) > 0) {
      rule.skip = (rule.skip ?? 0) - 1;
      continue;
    }
    if (rule.probability !== undefined && random() >= rule.probability) continue;
    if (rule.times !== undefined) rule.times -= 1;
    return rule.fault;
  }
  return undefined;
}
