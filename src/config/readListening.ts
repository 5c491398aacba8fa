import { isIP } from "node:net";
import type { LevelWithSilent } from "pino";
import { OPERATION_NAME } from "../observability/operationName.js";
import { ConfigError } from "./ConfigError.js";
import { parseUrl, readText, setting, shownUrl, type Env } from "./env.js";

const NODE_ENVS = ["production", "development", "test"];
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** NODE_ENV is read strictly: a typo such as `prod` would otherwise start with Sandbox and introspection on. */
export function readNodeEnv(env: Env): string | undefined {
  const raw = setting(env, "NODE_ENV");
  if (raw !== undefined && !NODE_ENVS.includes(raw)) throw new ConfigError("NODE_ENV", `one of ${NODE_ENVS.join(", ")}, or unset`, raw);
  return raw;
}

/** HOST (or `variable`) must be an IP address or a plain host name, so that a typo stops the start with one line. */
export function readHost(env: Env, variable: "HOST" | "EMULATOR_HOST" = "HOST"): string {
  const raw = readText(env, variable) ?? "";
  if (isIP(raw) === 0 && !HOST_NAME.test(raw)) throw new ConfigError(variable, "an IP address (0.0.0.0, ::, 127.0.0.1) or a host name such as localhost", raw);
  return raw;
}

export function readLogLevel(env: Env): LevelWithSilent {
  const raw = readText(env, "LOG_LEVEL") ?? "info";
  const level = LOG_LEVELS.find((candidate) => candidate === raw.toLowerCase());
  if (level === undefined) throw new ConfigError("LOG_LEVEL", `one of ${LOG_LEVELS.join(", ")}`, raw);
  return level;
}

export function readOperationNames(env: Env): string[] {
  const raw = setting(env, "METRICS_OPERATION_NAMES");
  if (raw === undefined) return [];
  const names = raw.split(",").map((name) => name.trim());
  const bad = names.find((name) => !OPERATION_NAME.test(name));
  if (bad !== undefined)
    throw new ConfigError("METRICS_OPERATION_NAMES", "a comma-separated list of GraphQL operation names (letters, digits, _; at most 64)", bad);
  if (names.length > 100) throw new ConfigError("METRICS_OPERATION_NAMES", "at most 100 names", `${names.length} names`);
  return names;
}

export function readOrigins(env: Env): string[] {
  const raw = setting(env, "CORS_ORIGINS");
  if (raw === undefined) return [];
  return raw.split(",").map((entry) => {
    const origin = entry.trim();
    if (parseUrl(origin)?.origin !== origin) {
      throw new ConfigError("CORS_ORIGINS", "a comma-separated list of origins such as https://app.example.com (scheme, host and port only)", shownUrl(origin));
    }
    return origin;
  });
}
