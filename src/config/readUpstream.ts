import { isAppBundleIdentifier } from "../appfabric/constants.js";
import { ConfigError } from "./ConfigError.js";
import { lookup, parseHttpUrl, readText, setting, shownUrl, type Env } from "./env.js";

/** Where calls go: the real AppFabric or, when no app bundle is configured, the embedded emulator. */
export type Upstream = { kind: "aws"; appBundleIdentifier: string; endpoint?: URL } | { kind: "emulator" };

/** The region of the AWS profile in the shared config file, as `sharedConfigRegion` found it. */
export interface ProfileRegion {
  region: string;
  profile: string;
}

const REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** As AWS SDKs resolve it: `AWS_REGION`, `AWS_DEFAULT_REGION` (its alias), then the profile's `region` in the shared config file. */
export function readRegion(env: Env, profileRegion?: ProfileRegion): string {
  const found = lookup(env, "AWS_REGION");
  if (found === undefined) {
    if (profileRegion === undefined) return readText(env, "AWS_REGION") ?? "us-east-1";
    if (!REGION_PATTERN.test(profileRegion.region)) {
      throw new ConfigError(`region (profile ${profileRegion.profile} of the AWS config file)`, "an AWS region such as us-east-1", profileRegion.region);
    }
    return profileRegion.region;
  }
  if (!REGION_PATTERN.test(found.value)) throw new ConfigError(found.variable, "an AWS region such as us-east-1", found.value);
  return found.value;
}

/**
 * `AWS_RETRY_MODE`, as AWS SDKs read it: `standard` (smithy's `StandardRetryStrategy`, what this service
 * runs) or unset. `adaptive` adds a per-process client-side rate limiter; this service has the fleet's
 * shared hold and `APPFABRIC_MAX_CALLS_PER_SECOND` for that, across replicas, so it is refused rather
 * than half-honoured; so is `legacy` (botocore's).
 */
export function readRetryMode(env: Env): void {
  const raw = setting(env, "AWS_RETRY_MODE");
  if (raw === undefined || raw === "standard") return;
  throw new ConfigError(
    "AWS_RETRY_MODE",
    "standard or unset (adaptive is not implemented: the fleet's shared throttling hold and APPFABRIC_MAX_CALLS_PER_SECOND do its work across replicas)",
    raw,
  );
}

export function readUpstream(env: Env, production: boolean): Upstream {
  const bundle = setting(env, "APPFABRIC_APP_BUNDLE");
  const endpoint = setting(env, "APPFABRIC_ENDPOINT");
  const emulator = setting(env, "APPFABRIC_EMULATOR");
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
  if (endpoint !== undefined) return awsUpstream(bundle, emulator, "APPFABRIC_ENDPOINT", endpoint);
  // The SDKs' endpoint variables, service-specific first, for real AppFabric only (with an app bundle):
  // a machine's AWS_ENDPOINT_URL, set for another tool, never turns the emulator demo into an error.
  const aliased = sdkEndpointVariable(env);
  return awsUpstream(bundle, emulator, aliased ?? "APPFABRIC_ENDPOINT", aliased === undefined ? undefined : setting(env, aliased));
}

/** `AWS_ENDPOINT_URL_APPFABRIC`, else `AWS_ENDPOINT_URL`, unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (as AWS SDKs read them). */
function sdkEndpointVariable(env: Env): "AWS_ENDPOINT_URL_APPFABRIC" | "AWS_ENDPOINT_URL" | undefined {
  if (setting(env, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")?.toLowerCase() === "true") return undefined;
  return (["AWS_ENDPOINT_URL_APPFABRIC", "AWS_ENDPOINT_URL"] as const).find((variable) => setting(env, variable) !== undefined);
}

function awsUpstream(bundle: string, emulator: string | undefined, endpointVariable: string, endpoint: string | undefined): Upstream {
  if (emulator === "true") {
    throw new ConfigError("APPFABRIC_EMULATOR", "unset or false when APPFABRIC_APP_BUNDLE is set", emulator);
  }
  if (!isAppBundleIdentifier(bundle)) {
    throw new ConfigError("APPFABRIC_APP_BUNDLE", "an app bundle ARN (arn:…) or lower-case UUID of at most 1011 characters", bundle);
  }
  return endpoint === undefined
    ? { kind: "aws", appBundleIdentifier: bundle }
    : { kind: "aws", appBundleIdentifier: bundle, endpoint: readEndpoint(endpoint, endpointVariable) };
}

function readEndpoint(raw: string, variable = "APPFABRIC_ENDPOINT"): URL {
  const url = parseHttpUrl(raw);
  // Requests are signed with AWS credentials; a user or password in the URL is never used, and would be logged.
  if (url === undefined || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(variable, "an http(s) URL without user, password, query or fragment, e.g. https://appfabric.us-east-1.amazonaws.com", shownUrl(raw));
  }
  return url;
}
