import type { LevelWithSilent } from "pino";
import { isAppBundleIdentifier } from "./appfabric/constants.js";

/** The service's settings, read from the environment once at start and validated. */
export interface Config {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** The interface to listen on. */
  host: string;
  /** pino level. */
  logLevel: LevelWithSilent;
  /** SigV4 signing region and, unless `endpoint` is set, the region of AWS's endpoint. */
  region: string;
  /** Where calls go: the real AppFabric or, when no app bundle is configured, the embedded emulator. */
  upstream: { kind: "aws"; appBundleIdentifier: string; endpoint?: URL } | { kind: "emulator" };
  /** `NODE_ENV=production`: Sandbox and introspection off. */
  production: boolean;
}

/** A setting that is present but wrong. Its message names the variable and what was expected. */
export class ConfigError extends Error {
  constructor(variable: string, expected: string, received: string) {
    super(`${variable} must be ${expected}; received "${received}".`);
    this.name = "ConfigError";
  }
}

const DEFAULT_PORT = 4000;
const DEFAULT_HOST = "0.0.0.0";
const LOG_LEVELS: readonly LevelWithSilent[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
const DEFAULT_REGION = "us-east-1";
const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

type Env = Record<string, string | undefined>;

/** Reads and validates the configuration. Throws `ConfigError` on the first bad value. */
export function loadConfig(env: Env): Config {
  const production = env["NODE_ENV"] === "production";
  return {
    port: readPort(env),
    host: nonEmpty(env["HOST"]) ?? DEFAULT_HOST,
    logLevel: readLogLevel(env),
    region: readRegion(env),
    upstream: readUpstream(env, production),
    production,
  };
}

function readLogLevel(env: Env): LevelWithSilent {
  const raw = nonEmpty(env["LOG_LEVEL"]);
  if (raw === undefined) return "info";
  const level = LOG_LEVELS.find((candidate) => candidate === raw.toLowerCase());
  if (level === undefined) throw new ConfigError("LOG_LEVEL", `one of ${LOG_LEVELS.join(", ")}`, raw);
  return level;
}

function readPort(env: Env): number {
  const raw = nonEmpty(env["PORT"]);
  if (raw === undefined) return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new ConfigError("PORT", "an integer from 0 to 65535", raw);
  return port;
}

function readRegion(env: Env): string {
  const variable = nonEmpty(env["AWS_REGION"]) !== undefined ? "AWS_REGION" : "AWS_DEFAULT_REGION";
  const raw = nonEmpty(env[variable]);
  if (raw === undefined) return DEFAULT_REGION;
  if (!REGION_PATTERN.test(raw)) throw new ConfigError(variable, "an AWS region such as us-east-1", raw);
  return raw;
}

function readUpstream(env: Env, production: boolean): Config["upstream"] {
  const bundle = nonEmpty(env["APPFABRIC_APP_BUNDLE"]);
  const endpoint = nonEmpty(env["APPFABRIC_ENDPOINT"]);
  const emulator = nonEmpty(env["APPFABRIC_EMULATOR"]);
  if (emulator !== undefined && emulator !== "true" && emulator !== "false") {
    throw new ConfigError("APPFABRIC_EMULATOR", "true or false", emulator);
  }
  if (bundle === undefined) {
    if (endpoint !== undefined) {
      throw new ConfigError("APPFABRIC_APP_BUNDLE", "set when APPFABRIC_ENDPOINT is (unset both to use the embedded emulator)", "");
    }
    // Outside production the emulator is the default; in production it must be asked for, so that a
    // forgotten setting never serves demo data.
    if (production && emulator !== "true") {
      throw new ConfigError("APPFABRIC_APP_BUNDLE", "set in production (or APPFABRIC_EMULATOR=true to run on the embedded emulator)", "");
    }
    return { kind: "emulator" };
  }
  if (emulator === "true") {
    throw new ConfigError("APPFABRIC_EMULATOR", "unset or false when APPFABRIC_APP_BUNDLE is set", emulator);
  }
  if (!isAppBundleIdentifier(bundle)) {
    throw new ConfigError("APPFABRIC_APP_BUNDLE", "an app bundle ARN (arn:…) or lower-case UUID of at most 1011 characters", bundle);
  }
  return endpoint === undefined
    ? { kind: "aws", appBundleIdentifier: bundle }
    : { kind: "aws", appBundleIdentifier: bundle, endpoint: readEndpoint(endpoint) };
}

function readEndpoint(raw: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash) {
    throw new ConfigError("APPFABRIC_ENDPOINT", "an http(s) URL without query or fragment, e.g. https://appfabric.us-east-1.amazonaws.com", raw);
  }
  return url;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
