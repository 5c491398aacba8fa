/**
 * One setting as the catalogue declares it: its variable, what it does, its default and bounds. The
 * readers take their defaults and bounds from here, the README's configuration tables and
 * `--print-config` are made from it, so a setting is added in one place.
 */
export type SettingSpec = IntegerSpec | BooleanSpec | TextSpec;

interface CommonSpec {
  /** The environment variable. */
  readonly name: string;
  /** One line for the README (Markdown). */
  readonly doc: string;
  /** The default as the README shows it, when it is not a constant (`defaultOf` covers the rest). */
  readonly shownDefault?: string;
  /** How `--print-config` shows a value: `secret` shows only that it is set, `url` hides a URL's user, password and query. */
  readonly shown?: "secret" | "url";
  /** Other names read when this one is unset, in order (AWS SDKs' spellings); the setting's own name wins. */
  readonly aliases?: readonly string[];
  /** Former names, still read when the setting is unset, with a warning at start. */
  readonly deprecatedNames?: readonly string[];
}

export interface IntegerSpec extends CommonSpec {
  readonly kind: "integer";
  /** Unset: this; absent, the setting is off when unset. */
  readonly default?: number;
  readonly min: number;
  readonly max: number;
}

export interface BooleanSpec extends CommonSpec {
  readonly kind: "boolean";
  readonly default?: boolean;
}

export interface TextSpec extends CommonSpec {
  readonly kind: "text";
  readonly default?: string;
  /** What the value may be, as the README says it (e.g. `on` or `off`, a URL). */
  readonly values: string;
}

/** The README's groups, in the order they appear there. */
export const SETTING_GROUPS = [
  "Listening and logging",
  "AppFabric",
  "Requests and limits",
  "Result cache and Redis",
  "Subscriptions",
  "Callers and authentication",
  "Audit trail and metrics",
  "Traces (OpenTelemetry)",
  "The emulator",
] as const;

export type SettingGroup = (typeof SETTING_GROUPS)[number];

/** The default as text (for the README and `--print-config`); undefined when the setting is off unset. */
export function defaultOf(spec: SettingSpec): string | undefined {
  if (spec.shownDefault !== undefined) return spec.shownDefault;
  return spec.default === undefined ? undefined : String(spec.default);
}

/** What a value may be, as text. */
export function valuesOf(spec: SettingSpec): string {
  if (spec.kind === "integer") return `${spec.min.toLocaleString("en-US")} to ${spec.max.toLocaleString("en-US")}`;
  if (spec.kind === "boolean") return "`true` or `false`";
  return spec.values;
}
