/** `error` if it is an `Error`, else an `Error` saying what was thrown (never throws). */
export function ensureError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
