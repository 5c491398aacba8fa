import { ConfigError } from "./ConfigError.js";

/** The environment as read: variable → raw text. */
export type Env = Record<string, string | undefined>;

/** The small readers every setting goes through: each names its variable when a value is wrong. */
export function readInteger(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = setting(env, variable);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new ConfigError(variable, `an integer from ${min} to ${max}`, raw);
  return value;
}

export function readBoolean(env: Env, variable: string, fallback: boolean): boolean {
  const raw = setting(env, variable);
  if (raw === undefined) return fallback;
  if (raw !== "true" && raw !== "false") throw new ConfigError(variable, "true or false", raw);
  return raw === "true";
}

export function parseUrl(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

export function parseHttpUrl(raw: string): URL | undefined {
  const url = parseUrl(raw);
  return url?.protocol === "https:" || url?.protocol === "http:" ? url : undefined;
}

/**
 * A variable's value, trimmed; undefined when it is unset or empty. A value of only blanks is a
 * mistake, not "unset": a ROUTER_SECRET of spaces must stop the start, not turn authentication off.
 */
export function setting(env: Env, variable: string): string | undefined {
  const raw = env[variable];
  if (raw === undefined || raw === "") return undefined;
  const trimmed = raw.trim();
  if (trimmed === "") throw new ConfigError(variable, "a value, or unset (it holds only blanks)", `${raw.length} blank characters`);
  return trimmed;
}

/** A URL as an error message may show it: user, password, query and fragment replaced, as they can hold credentials. */
export function shownUrl(raw: string): string {
  const url = parseUrl(raw);
  // Only a URL with a host has a user, password, query and fragment where they can be told apart;
  // anything else (`user:pw@host`, `mailto:…`) is shown only if it holds none of `@ ? #`.
  if (url === undefined || url.host === "") return /[@?#]/.test(raw) ? "[a value not shown: it may hold credentials]" : raw;
  if (url.username !== "" || url.password !== "") {
    url.username = "redacted";
    url.password = "";
  }
  if (url.search !== "") url.search = "?redacted";
  if (url.hash !== "") url.hash = "#redacted";
  return url.href;
}
