import { CATALOGUE, knownVariables } from "./catalogue.js";
import type { Env } from "./env.js";
import type { SettingSpec } from "./SettingSpec.js";

/** What the environment says beside the settings' values: former names in use, and likely typos. */
export interface EnvironmentNotes {
  /** A former name that was read, and the setting's name now. */
  deprecated: { used: string; instead: string }[];
  /** A variable with one of the service's own prefixes that no setting reads, and the closest name that does. */
  unknown: { name: string; closest?: string }[];
}

/**
 * The prefixes only this service's settings use. `AWS_` and `OTEL_` are shared with the SDKs (and
 * other tools on the machine) and are not checked.
 */
const OWN_PREFIXES = [
  "APPFABRIC_",
  "RESULT_CACHE",
  "REDIS_",
  "SUBSCRIPTION_",
  "WEBSOCKET_",
  "ROUTER_",
  "AUTH_",
  "CALLER_",
  "AUDIT_",
  "PERSISTED_",
  "GRAPHQL_",
  "EMULATOR_",
];

export function environmentNotes(env: Env): EnvironmentNotes {
  const deprecated = CATALOGUE.flatMap(({ settings }) =>
    settings.flatMap((spec: SettingSpec) =>
      (spec.deprecatedNames ?? []).filter((name) => isSet(env, name) && !isSet(env, spec.name)).map((used) => ({ used, instead: spec.name })),
    ),
  );
  const known = knownVariables();
  const unknown = Object.keys(env)
    .filter((name) => OWN_PREFIXES.some((prefix) => name.startsWith(prefix)) && !known.has(name) && isSet(env, name))
    .sort()
    .map((name) => {
      const closest = closestName(name, known);
      return closest === undefined ? { name } : { name, closest };
    });
  return { deprecated, unknown };
}

function isSet(env: Env, name: string): boolean {
  const value = env[name];
  return value !== undefined && value !== "";
}

/** The known name within three edits of `name`, if one is. */
function closestName(name: string, known: Set<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name, candidate);
    if (distance <= 3 && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
