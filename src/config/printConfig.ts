import { CATALOGUE } from "./catalogue.js";
import { lookup, shownUrl, type Env } from "./env.js";
import { defaultOf, type SettingSpec } from "./SettingSpec.js";
import type { SettingName } from "./catalogue.js";

/**
 * `--print-config`: every setting as this environment sets it, or its default, one line each, grouped
 * as in the README. Secrets show only that they are set; URLs lose their user, password and query.
 */
export function printConfig(env: Env): string[] {
  const lines = ["# Effective settings: the value set (and the variable it came from when not the setting's own name), else the default."];
  for (const { group, settings } of CATALOGUE) {
    lines.push("", `# ${group}`);
    for (const spec of settings as readonly SettingSpec[]) {
      const found = lookup(env, spec.name as SettingName);
      if (found === undefined) {
        const fallback = defaultOf(spec);
        lines.push(`${spec.name}  # unset${fallback === undefined ? "" : `, default: ${fallback.replaceAll("`", "")}`}`);
        continue;
      }
      const from = found.variable === spec.name ? "" : `  # from ${found.variable}`;
      lines.push(`${spec.name}=${shown(spec, found.value)}${from}`);
    }
  }
  return lines;
}

function shown(spec: SettingSpec, value: string): string {
  if (spec.shown === "secret") return "[set, not shown]";
  if (spec.shown === "url") return shownUrl(value);
  if (/[\n\r]|\\n/.test(value) || value.length > 200) return `[set, ${value.length} characters]`;
  return value;
}
