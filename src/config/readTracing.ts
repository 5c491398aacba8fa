import { ConfigError } from "./ConfigError.js";
import { lookup, parseHttpUrl, readInteger, readText, setting, shownUrl, type Env } from "./env.js";
import { DEFAULT_SERVICE_NAME, type SamplerSettings, type TracingSettings } from "../observability/TracingSettings.js";

const SAMPLERS: Record<string, Omit<SamplerSettings, "ratio">> = {
  always_on: { root: "always_on", parentBased: false },
  always_off: { root: "always_off", parentBased: false },
  traceidratio: { root: "traceidratio", parentBased: false },
  parentbased_always_on: { root: "always_on", parentBased: true },
  parentbased_always_off: { root: "always_off", parentBased: true },
  parentbased_traceidratio: { root: "traceidratio", parentBased: true },
};

/**
 * Tracing is on when the standard OpenTelemetry variables name an OTLP endpoint
 * (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is, or `OTEL_EXPORTER_OTLP_ENDPOINT`, to which
 * `v1/traces` is added), unless `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`. Off, nothing
 * of OpenTelemetry's SDK is loaded. Headers, timeout and compression are read by the exporter itself
 * (`OTEL_EXPORTER_OTLP_HEADERS`, …); the service name by the resource (`OTEL_SERVICE_NAME`,
 * `OTEL_RESOURCE_ATTRIBUTES`).
 */
export function readTracing(env: Env): TracingSettings | undefined {
  const disabled = setting(env, "OTEL_SDK_DISABLED")?.toLowerCase();
  // As the OpenTelemetry SDKs read it: case-insensitive, unlike the service's own booleans.
  if (disabled !== undefined && disabled !== "true" && disabled !== "false") throw new ConfigError("OTEL_SDK_DISABLED", "true or false", disabled);
  if (disabled === "true") return undefined;
  const exporter = setting(env, "OTEL_TRACES_EXPORTER")?.toLowerCase();
  if (exporter !== undefined && exporter !== "otlp" && exporter !== "none") throw new ConfigError("OTEL_TRACES_EXPORTER", "otlp or none", exporter);
  if (exporter === "none") return undefined;
  const url = readTracesUrl(env);
  if (url === undefined) return undefined;
  checkExporterSettings(env);
  return { url, protocol: readProtocol(env), sampler: readSampler(env), resource: readResource(env) };
}

/** OTEL_RESOURCE_ATTRIBUTES (`key=value` pairs, values percent-encoded) and OTEL_SERVICE_NAME, which wins. */
function readResource(env: Env): Record<string, string> {
  const attributes: Record<string, string> = {};
  const raw = setting(env, "OTEL_RESOURCE_ATTRIBUTES");
  if (raw !== undefined) {
    for (const pair of raw.split(",")) {
      const [key, value] = decodedPair(pair);
      if (key === undefined || value === undefined) {
        throw new ConfigError("OTEL_RESOURCE_ATTRIBUTES", "comma-separated key=value pairs with percent-encoded values, e.g. deployment.environment=prod", raw);
      }
      attributes[key] = value;
    }
  }
  attributes["service.name"] = setting(env, "OTEL_SERVICE_NAME") ?? attributes["service.name"] ?? DEFAULT_SERVICE_NAME;
  return attributes;
}

/** HTTP header names the exporter sets itself, or that would break the request if a header set them. */
const RESERVED_HEADERS = new Set([
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "te",
  "upgrade",
  "expect",
  "trailer",
]);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\x20-\x7E\t]*$/;

/** One `key=value` of a W3C-baggage-style list, its value percent-decoded; undefineds when malformed. */
function decodedPair(pair: string): [string | undefined, string | undefined] {
  const at = pair.indexOf("=");
  if (at <= 0) return [undefined, undefined];
  const key = pair.slice(0, at).trim();
  try {
    return [key === "" ? undefined : key, decodeURIComponent(pair.slice(at + 1).trim())];
  } catch {
    return [key, undefined];
  }
}

/**
 * The settings the exporter reads itself are checked here too, so that a typo stops the start with
 * one line instead of the exporter falling back to its defaults (or dropping the headers) in silence.
 */
function checkExporterSettings(env: Env): void {
  for (const prefix of ["OTEL_EXPORTER_OTLP_TRACES_", "OTEL_EXPORTER_OTLP_"] as const) {
    readInteger(env, `${prefix}TIMEOUT`);
    const compression = setting(env, `${prefix}COMPRESSION`);
    if (compression !== undefined && compression !== "gzip" && compression !== "none")
      throw new ConfigError(`${prefix}COMPRESSION`, "gzip or none", compression);
    const headers = setting(env, `${prefix}HEADERS`);
    // key=value pairs, comma-separated, values percent-encoded: each must make a header the exporter can
    // send. The values are secrets: never echoed.
    const usable = (pair: string) => {
      const [name, value] = decodedPair(pair);
      return name !== undefined && value !== undefined && HEADER_NAME.test(name) && !RESERVED_HEADERS.has(name.toLowerCase()) && HEADER_VALUE.test(value);
    };
    if (headers !== undefined && !headers.split(",").every(usable)) {
      throw new ConfigError(
        `${prefix}HEADERS`,
        "comma-separated name=value pairs of usable HTTP headers (token names other than host, content-length…; printable ASCII values, percent-encoded)",
        "[not shown: it may hold credentials]",
      );
    }
  }
}

function readTracesUrl(env: Env): URL | undefined {
  for (const [variable, suffix] of [
    ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ""],
    ["OTEL_EXPORTER_OTLP_ENDPOINT", "v1/traces"],
  ] as const) {
    const raw = setting(env, variable);
    if (raw === undefined) continue;
    const url = parseHttpUrl(raw);
    if (url === undefined || url.search || url.hash)
      throw new ConfigError(variable, "an http(s) URL of an OTLP/HTTP collector, e.g. http://localhost:4318", shownUrl(raw));
    if (suffix !== "") url.pathname = `${url.pathname.replace(/\/?$/, "/")}${suffix}`;
    return url;
  }
  return undefined;
}

function readProtocol(env: Env): TracingSettings["protocol"] {
  const { variable, value: raw } = lookup(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? {
    variable: "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    value: "http/protobuf",
  };
  if (raw !== "http/protobuf" && raw !== "http/json") throw new ConfigError(variable, "http/protobuf or http/json (grpc is not supported)", raw);
  return raw;
}

function readSampler(env: Env): SamplerSettings {
  const raw = (readText(env, "OTEL_TRACES_SAMPLER") ?? "").toLowerCase();
  const sampler = SAMPLERS[raw];
  if (sampler === undefined) throw new ConfigError("OTEL_TRACES_SAMPLER", Object.keys(SAMPLERS).join(", "), raw);
  const arg = setting(env, "OTEL_TRACES_SAMPLER_ARG");
  if (arg === undefined || sampler.root !== "traceidratio") return { ...sampler, ratio: 1 };
  const ratio = Number(arg);
  if (!/^(0(\.\d+)?|1(\.0+)?)$/.test(arg)) throw new ConfigError("OTEL_TRACES_SAMPLER_ARG", "a ratio from 0 to 1, e.g. 0.25", arg);
  return { ...sampler, ratio };
}
