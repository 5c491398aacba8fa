import { ConfigError } from "./ConfigError.js";

/** The environment as read: variable → raw text. */
export type Env = Record<string, string | undefined>;

/** The small readers every setting goes through: each names its variable when a value is wrong. */
export function readInteger(env: Env, variable: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) throw new ConfigError(variable, `an integer from ${min} to ${max}`, raw);
  return value;
}

export function readBoolean(env: Env, variable: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[variable]);
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

export function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
