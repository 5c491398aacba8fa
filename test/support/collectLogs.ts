import { Writable } from "node:stream";
import type { Logger, LevelWithSilent } from "pino";
import { createLogger } from "../../src/observability/createLogger.js";

/** The service's own logger (same redaction), writing JSON lines the test can read. */
export function collectLogs(level: LevelWithSilent = "info"): { logger: Logger; lines: () => Array<Record<string, unknown>>; text: () => string } {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return {
    logger: createLogger({ level, pretty: false, destination: sink }),
    text: () => text,
    lines: () =>
      text
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
