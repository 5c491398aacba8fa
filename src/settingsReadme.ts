import { readFileSync, writeFileSync } from "node:fs";
import { withSettingsTables } from "./config/settingsTables.js";

// `npm run settings:readme` writes the README's configuration tables from the catalogue;
// `npm run settings:check` (part of `npm test`) fails when they are stale, as codegen:check does for types.
const path = new URL("../README.md", import.meta.url);
const readme = readFileSync(path, "utf8");
const fresh = withSettingsTables(readme);
if (process.argv.includes("--check")) {
  if (fresh !== readme) {
    console.error("README.md's configuration tables are stale: run `npm run settings:readme` and commit the result.");
    process.exit(1);
  }
} else if (fresh !== readme) {
  writeFileSync(path, fresh);
  console.log("README.md: configuration tables written from src/config/catalogue/.");
}
