import { ErrorReply } from "@redis/client";

/**
 * "timeout" once Redis has failed to answer within `ms`, as Redis's delay and not this process's.
 * node-redis writes queued commands in the loop's check phase (`setImmediate`), so the clock starts
 * there, after the write; and when the timer fires, one more turn of the loop reads any reply already
 * waiting in the socket before the verdict. Without both, a replica busy with a burst of requests
 * (its loop held for longer than `ms`) took its own lag for a slow Redis and went on alone: 300 clients
 * at once on three replicas cost AppFabric one call per replica instead of one (`npm run bench:fleet`).
 * A Redis that is really slow or hung still fails after `ms` plus at most one turn of the loop.
 */
export function redisTimeout(ms: number): { expired: Promise<"timeout">; cancel(): void } {
  let immediate: NodeJS.Immediate | undefined;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"timeout">((resolve) => {
    immediate = setImmediate(() => {
      timer = setTimeout(() => (immediate = setImmediate(() => resolve("timeout"))), ms);
    });
  });
  return {
    expired,
    cancel() {
      clearImmediate(immediate);
      clearTimeout(timer);
    },
  };
}

/** Replies that say Redis itself cannot serve now (loading, busy, read-only…): it is down for us. (OOM is `full`.) */
export const SERVER_STATE = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|READONLY|TRYAGAIN|NOREPLICAS|MISCONF) /;

/**
 * Whether a command failed because of what a key holds, not because of Redis: a `WRONGTYPE` or
 * "not an integer" reply, or a value Keyv could not parse.
 */
export function isForeignValue(error: unknown): boolean {
  if (error instanceof SyntaxError) return true;
  if (!(error instanceof ErrorReply)) return false;
  return /^WRONGTYPE |^ERR value is not an integer|^ERR hash value is not an integer/.test(error.message);
}

/**
 * A fixed word for logs, never the error's message (it may quote the host or the command): a Node
 * network code (`ECONNREFUSED`), Redis's own error word (`WRONGPASS`, `NOAUTH`), a TLS code, or the
 * error's class name.
 */
export function reasonOf(error: unknown): string {
  for (let candidate = error, depth = 0; typeof candidate === "object" && candidate !== null && depth < 4; depth++) {
    const { code, message, errors, cause } = candidate as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
    if (typeof code === "string" && /^[A-Z][A-Z0-9_]{1,47}$/.test(code)) return code;
    const redisWord = typeof message === "string" ? /^([A-Z]{3,16}) /.exec(message)?.[1] : undefined;
    if (redisWord !== undefined) return redisWord;
    candidate = Array.isArray(errors) ? errors[0] : cause;
  }
  const name = typeof error === "object" && error !== null ? (error as { name?: unknown }).name : undefined;
  return typeof name === "string" && /^\w{1,64}$/.test(name) ? name : "error";
}
