import { type CATALOGUE, integerSpecOf, specOf, type BooleanSettingName, type IntegerSettingName, type SettingName } from "./catalogue.js";
import { ConfigError } from "./ConfigError.js";

/** The environment as read: variable → raw text. */
export type Env = Record<string, string | undefined>;

/** Every variable the readers may name: a setting, one of its aliases or one of its former names. */
export type VariableName = SettingName | AliasName | FormerName;
type Declared = (typeof CATALOGUE)[number]["settings"][number];
type AliasName = Declared extends infer Spec ? (Spec extends { aliases: readonly (infer Name)[] } ? Name : never) : never;
type FormerName = Declared extends infer Spec ? (Spec extends { deprecatedNames: readonly (infer Name)[] } ? Name : never) : never;

/**
 * A setting as the environment holds it: its own variable, else its aliases, else its former names,
 * the first that is set; `variable` is the one read, for errors and warnings.
 */
export function lookup(env: Env, name: SettingName): { variable: string; value: string } | undefined {
  const spec = specOf(name);
  for (const variable of [spec.name, ...(spec.aliases ?? []), ...(spec.deprecatedNames ?? [])]) {
    const value = setting(env, variable as VariableName);
    if (value !== undefined) return { variable, value };
  }
  return undefined;
}

/**
 * An integer setting, within its catalogued bounds; its catalogued default when unset. `narrowed`
 * raises the bound or the default where another setting decides it (a router's limit is at least a
 * client's).
 */
export function readInteger(env: Env, name: IntegerSettingName, narrowed: { min?: number; fallback?: number } = {}): number {
  const spec = integerSpecOf(name);
  const min = narrowed.min ?? spec.min;
  const found = lookup(env, name);
  if (found === undefined) return narrowed.fallback ?? spec.default ?? 0;
  const value = Number(found.value);
  if (!/^\d+$/.test(found.value) || value < min || value > spec.max)
    throw new ConfigError(found.variable, `an integer from ${min} to ${spec.max}`, found.value);
  return value;
}

/** A boolean setting: `true` or `false`; `fallback` (else its catalogued default, else false) when unset. */
export function readBoolean(env: Env, name: BooleanSettingName, fallback?: boolean): boolean {
  const spec = specOf(name);
  const found = lookup(env, name);
  if (found === undefined) return fallback ?? (spec.kind === "boolean" ? spec.default : undefined) ?? false;
  if (found.value !== "true" && found.value !== "false") throw new ConfigError(found.variable, "true or false", found.value);
  return found.value === "true";
}

/** A text setting as set, or its catalogued default. */
export function readText(env: Env, name: SettingName): string | undefined {
  const spec = specOf(name);
  return lookup(env, name)?.value ?? (spec.kind === "text" ? spec.default : undefined);
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
export function setting(env: Env, variable: VariableName): string | undefined {
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
  // `user:pa/ss@host` parses as host `user`, port and a path holding the rest of the credential and
  // the real host: an `@` past the host is never shown (found by an outside attack on REDIS_URL).
  if (/@|%40/i.test(url.pathname)) return "[a value not shown: it may hold credentials]";
  if (url.username !== "" || url.password !== "") {
    url.username = "redacted";
    url.password = "";
  }
  if (url.search !== "") url.search = "?redacted";
  if (url.hash !== "") url.hash = "#redacted";
  return url.href;
}
