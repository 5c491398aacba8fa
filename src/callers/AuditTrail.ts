import type { Clock } from "../lib/Clock.js";
import { createHmac } from "node:crypto";
import { openSync } from "node:fs";
import pino from "pino";
import { auditedCaller, type Caller } from "./Caller.js";

/** Where audit lines go (AUDIT_LOG) and the key of their email digests (AUDIT_KEY). */
export interface AuditSettings {
  /** `stdout`, a file path (opened for append), or `off`. */
  destination: "stdout" | "off" | { path: string };
  /** The HMAC key of `emailDigest`; without it, start lines carry no digest. */
  key?: string;
}

export interface StartRecord {
  requestId: string;
  caller: Caller;
  email: string;
  /** Apps whose task started (the items with a task id). */
  apps: readonly string[];
  /** `failed`: the start did not answer; whether AppFabric started anything is then unknown. */
  outcome: "started" | "failed";
}

export interface ReadRecord {
  requestId: string;
  caller: Caller;
  /** Tasks whose personal fields the operation was answered with. */
  taskIds: number;
  operationName: string | null;
  via: "http" | "websocket";
}

/**
 * The record of who looked up whom: one JSON line per start and per operation that read personal
 * fields, with the caller's identity. Written apart from the service's log (whose level does not
 * silence it). No email, name or token is ever in it: a start names its person by `emailDigest`, an
 * HMAC-SHA256 under AUDIT_KEY of the lower-cased address, so an auditor who knows an address can find
 * its lookups and nobody can read addresses out of the trail.
 */
export interface AuditTrail {
  start(record: StartRecord): void;
  read(record: ReadRecord): void;
  /** Writes what is buffered (the process is stopping). */
  close(): void;
}

export interface AuditTrailOptions {
  /** Instead of the destination (tests collect lines). */
  write?: (line: string) => void;
  onRecord?: (action: "start" | "read") => void;
  now?: Clock;
}

/**
 * The digest that names a start's person: HMAC-SHA256 under AUDIT_KEY of the address trimmed,
 * NFC-normalised (é typed as one character or two is one person) and lower-cased (Unicode's rules,
 * as JavaScript's `toLowerCase`). `npm run audit:lookup` computes it the same way.
 */
export function emailDigest(key: string, email: string): string {
  return createHmac("sha256", key).update(email.trim().normalize("NFC").toLowerCase()).digest("hex");
}

/**
 * Opens the trail. A file is opened here, synchronously, so that a path this process cannot append to
 * stops the start instead of losing lines later; lines are then written without blocking (pino's
 * destination), and flushed on `close`.
 */
export function openAuditTrail(settings: AuditSettings, options: AuditTrailOptions = {}): AuditTrail {
  const now = options.now ?? Date.now;
  const { destination } = settings;
  const stream =
    options.write !== undefined || destination === "off"
      ? undefined
      : pino.destination({ fd: destination === "stdout" ? 1 : openSync(destination.path, "a", 0o600), sync: false });
  const write = options.write ?? ((line: string) => stream?.write(line));
  const record = (action: "start" | "read", fields: Record<string, unknown>) => {
    if (destination === "off" && options.write === undefined) return;
    write(`${JSON.stringify({ time: new Date(now()).toISOString(), action, ...fields })}\n`);
    options.onRecord?.(action);
  };
  return {
    start: ({ requestId, caller, email, apps, outcome }) =>
      record("start", {
        requestId,
        caller: auditedCaller(caller),
        taskIds: apps.length,
        apps,
        outcome,
        ...(settings.key === undefined ? {} : { emailDigest: emailDigest(settings.key, email) }),
      }),
    read: ({ requestId, caller, taskIds, operationName, via }) => record("read", { requestId, caller: auditedCaller(caller), taskIds, operationName, via }),
    close: () => {
      if (stream === undefined) return;
      stream.flushSync();
      if (destination !== "stdout") stream.end();
    },
  };
}
