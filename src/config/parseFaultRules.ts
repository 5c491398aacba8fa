import { isRecord } from "../lib/isRecord.js";
import type { FaultRule } from "../emulator/faultSchedule.js";

/** A fault rule as the environment can state it: everything but a code predicate. */
export type EmulatorFaultRule = Omit<FaultRule, "when">;

const KINDS = ["error", "delay", "reset", "malformed", "truncated", "slowBody"] as const;

/**
 * Reads `APPFABRIC_EMULATOR_FAULTS`: a JSON list of rules such as
 * `[{"fault":{"kind":"error","status":429,"errorType":"ThrottlingException","retryAfter":"1"},"probability":0.1}]`.
 * Returns the rules, or a sentence saying what is wrong.
 */
export function parseFaultRules(text: string): EmulatorFaultRule[] | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  if (!Array.isArray(value)) return "it is not a list";
  const rules: EmulatorFaultRule[] = [];
  for (const [index, entry] of value.entries()) {
    const problem = ruleProblem(entry);
    if (problem !== undefined) return `rule ${index + 1}: ${problem}`;
    rules.push(entry as EmulatorFaultRule);
  }
  return rules;
}

function ruleProblem(entry: unknown): string | undefined {
  if (!isRecord(entry)) return "not an object";
  const fault = entry["fault"];
  if (!isRecord(fault) || !KINDS.includes(fault["kind"] as (typeof KINDS)[number])) return `fault.kind must be one of ${KINDS.join(", ")}`;
  if (fault["kind"] === "error" && !isWhole(fault["status"], 400, 599)) return "fault.status must be an HTTP error status";
  if ((fault["kind"] === "delay" || fault["kind"] === "slowBody") && !isWhole(fault["ms"], 0, 600_000))
    return "fault.ms must be a whole number of milliseconds";
  for (const key of ["errorType", "message", "retryAfter"] as const) {
    if (fault[key] !== undefined && typeof fault[key] !== "string") return `fault.${key} must be a string`;
  }
  if (entry["times"] !== undefined && !isWhole(entry["times"], 1, Number.MAX_SAFE_INTEGER)) return "times must be a whole number from 1";
  if (entry["skip"] !== undefined && !isWhole(entry["skip"], 0, Number.MAX_SAFE_INTEGER)) return "skip must be a whole number";
  const probability = entry["probability"];
  if (probability !== undefined && (typeof probability !== "number" || probability < 0 || probability > 1)) return "probability must be from 0 to 1";
  if (entry["taskId"] !== undefined && typeof entry["taskId"] !== "string") return "taskId must be a string";
  return undefined;
}

function isWhole(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}
