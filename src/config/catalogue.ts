import { appFabric } from "./catalogue/appFabric.js";
import { audit } from "./catalogue/audit.js";
import { callers } from "./catalogue/callers.js";
import { emulator } from "./catalogue/emulator.js";
import { fleet } from "./catalogue/fleet.js";
import { limits } from "./catalogue/limits.js";
import { listening } from "./catalogue/listening.js";
import { subscriptions } from "./catalogue/subscriptions.js";
import { tracing } from "./catalogue/tracing.js";
import type { IntegerSpec, SettingGroup, SettingSpec } from "./SettingSpec.js";

/** Every setting the service reads, by group, in the README's order. */
export const CATALOGUE = [listening, appFabric, limits, fleet, subscriptions, callers, audit, tracing, emulator] as const satisfies readonly {
  group: SettingGroup;
  settings: readonly SettingSpec[];
}[];

type Declared = (typeof CATALOGUE)[number]["settings"][number];
/** A variable the catalogue declares: the readers take no other. */
export type SettingName = Declared["name"];
export type IntegerSettingName = Extract<Declared, { kind: "integer" }>["name"];
export type BooleanSettingName = Extract<Declared, { kind: "boolean" }>["name"];

const BY_NAME = new Map<string, SettingSpec>(CATALOGUE.flatMap(({ settings }) => settings.map((spec) => [spec.name, spec] as const)));

export function specOf(name: SettingName): SettingSpec {
  const spec = BY_NAME.get(name);
  if (spec === undefined) throw new Error(`${name} is not in the settings catalogue`);
  return spec;
}

export function integerSpecOf(name: IntegerSettingName): IntegerSpec {
  const spec = specOf(name);
  if (spec.kind !== "integer") throw new Error(`${name} is not an integer setting`);
  return spec;
}

/** Every name the service reads, aliases and former names included. */
export function knownVariables(): Set<string> {
  return new Set(
    CATALOGUE.flatMap(({ settings }) => settings.flatMap((spec: SettingSpec) => [spec.name, ...(spec.aliases ?? []), ...(spec.deprecatedNames ?? [])])),
  );
}
