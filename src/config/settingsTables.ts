import { CATALOGUE } from "./catalogue.js";
import { defaultOf, valuesOf, type SettingSpec } from "./SettingSpec.js";

/** Where the generated tables sit in the README. */
export const TABLES_START = "<!-- settings:start (generated from src/config/catalogue/ by npm run settings:readme; edit there) -->";
export const TABLES_END = "<!-- settings:end -->";

/** The README's configuration tables, one per group, made from the catalogue. */
export function settingsTables(): string {
  const sections = CATALOGUE.map(({ group, settings }) =>
    [`### ${group}`, "", "| variable | meaning | values | default |", "|---|---|---|---|", ...settings.map((spec: SettingSpec) => row(spec))].join("\n"),
  );
  return `${sections.join("\n\n")}\n`;
}

function row(spec: SettingSpec): string {
  const former = spec.deprecatedNames?.length ? `; former name ${spec.deprecatedNames.map(code).join(", ")}, still read, with a warning` : "";
  const shown = spec.shownDefault ?? (spec.default === undefined ? undefined : code(String(defaultOf(spec))));
  return `| ${code(spec.name)} | ${spec.doc}${former} | ${valuesOf(spec)} | ${shown ?? "unset"} |`;
}

const code = (text: string) => `\`${text}\``;

/** The README with its tables replaced by freshly generated ones; throws when the markers are missing. */
export function withSettingsTables(readme: string): string {
  const start = readme.indexOf(TABLES_START);
  const end = readme.indexOf(TABLES_END);
  if (start < 0 || end < start) throw new Error(`README.md lacks the markers ${TABLES_START} … ${TABLES_END}`);
  return `${readme.slice(0, start + TABLES_START.length)}\n\n${settingsTables()}\n${readme.slice(end)}`;
}
