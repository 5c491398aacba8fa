import { isRecord } from "../lib/isRecord.js";
import { RESULT_STATUSES, type ResultStatus, type UserAccessResultItem } from "../appfabric/types.js";

/** A result as the cache keeps it: the item, and until when (ms since the epoch) it may be served. */
export interface CachedResult {
  item: UserAccessResultItem;
  freshUntil: number;
}

/**
 * How far ahead of this replica's clock another replica's may be: times read from Redis (a result's
 * freshness, a throttling hold, a rate window) beyond what this service writes by more than this
 * were not written by it.
 */
export const CLOCK_SKEW_MS = 1_000;

const STATUSES: ReadonlySet<string> = new Set(RESULT_STATUSES);
const isResultStatus = (text: string | undefined): text is ResultStatus => text !== undefined && STATUSES.has(text);
const TEXT_FIELDS = [
  "app",
  "tenantId",
  "tenantDisplayName",
  "resultStatus",
  "email",
  "userId",
  "userFullName",
  "userFirstName",
  "userLastName",
  "userStatus",
] as const;
/**
 * A stored value longer than this is not one this service wrote (AppFabric's items are well under
 * 2 KB). Reads ask Redis for at most this many bytes plus one (`GETRANGE`), so a huge value planted in
 * Redis never reaches this process's memory.
 */
export const MAX_VALUE_BYTES = 16 * 1024;

/**
 * The value kept in Redis for one task: `{"t":taskId,"f":freshUntil,"i":item}` with the item as
 * AppFabric sent it, less its `taskId` (in `t`) and any member this service does not read. `t` ties
 * the value to its key: a value copied under another task's key is not an answer for that task.
 */
export function encodeCachedResult(taskId: string, cached: CachedResult): string {
  const item: Record<string, unknown> = {};
  for (const field of TEXT_FIELDS) if (cached.item[field] !== undefined) item[field] = cached.item[field];
  const { taskError } = cached.item;
  if (taskError !== undefined) item["taskError"] = { errorCode: taskError.errorCode, errorMessage: taskError.errorMessage };
  return JSON.stringify({ t: taskId, f: cached.freshUntil, i: item });
}

/**
 * A value read from Redis, checked as strictly as AppFabric's own answers: anything that is not what
 * `encodeCachedResult` writes (another program's key, a corrupted value) is a miss, never an answer.
 */
export function decodeCachedResult(taskId: string, raw: string | null): CachedResult | undefined {
  if (raw === null || Buffer.byteLength(raw) > MAX_VALUE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value["t"] !== taskId || typeof value["f"] !== "number" || !Number.isFinite(value["f"]) || !isRecord(value["i"])) return undefined;
  const stored = value["i"];
  const texts: Partial<Record<(typeof TEXT_FIELDS)[number], string>> = {};
  for (const field of TEXT_FIELDS) {
    const text = stored[field];
    if (text === undefined) continue;
    if (typeof text !== "string") return undefined;
    texts[field] = text;
  }
  const { resultStatus, ...rest } = texts;
  if (!isResultStatus(resultStatus)) return undefined;
  const item: UserAccessResultItem = { ...rest, taskId, resultStatus };
  const taskError = stored["taskError"];
  if (taskError !== undefined) {
    if (!isRecord(taskError)) return undefined;
    const { errorCode, errorMessage } = taskError;
    if ((errorCode !== undefined && typeof errorCode !== "string") || (errorMessage !== undefined && typeof errorMessage !== "string")) return undefined;
    item.taskError = { ...(errorCode === undefined ? {} : { errorCode }), ...(errorMessage === undefined ? {} : { errorMessage }) };
  }
  return { item, freshUntil: value["f"] };
}
