import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/loadConfig.js";
import { settingWarnings } from "../../src/config/settingWarnings.js";

describe("settingWarnings", () => {
  it("says when the result cache's IN_PROGRESS freshness is longer than the watcher's interval, naming both settings", () => {
    const warnings = settingWarnings(loadConfig({ SUBSCRIPTION_WATCH_INTERVAL_MS: "500", RESULT_CACHE_IN_PROGRESS_MS: "2000" }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/every 2000 ms \(RESULT_CACHE_IN_PROGRESS_MS\), not every 500 ms \(SUBSCRIPTION_WATCH_INTERVAL_MS\)/);
  });

  it("says nothing of the defaults, of a cache no fresher than the interval, or with the cache off", () => {
    expect(settingWarnings(loadConfig({}))).toEqual([]);
    expect(settingWarnings(loadConfig({ SUBSCRIPTION_WATCH_INTERVAL_MS: "2000", RESULT_CACHE_IN_PROGRESS_MS: "2000" }))).toEqual([]);
    expect(settingWarnings(loadConfig({ SUBSCRIPTION_WATCH_INTERVAL_MS: "500", RESULT_CACHE_IN_PROGRESS_MS: "2000", RESULT_CACHE: "off" }))).toEqual([]);
  });

  it("says that the landing page can run nothing when only listed documents run, naming the page shown", () => {
    const manifest = new URL("../../examples/web/src/__generated__/persisted-documents.json", import.meta.url).pathname;
    const require = { PERSISTED_DOCUMENTS: "require", PERSISTED_DOCUMENTS_MANIFEST: manifest };
    expect(settingWarnings(loadConfig(require))).toEqual([expect.stringMatching(/^Sandbox loads but can run nothing with PERSISTED_DOCUMENTS=require/)]);
    expect(settingWarnings(loadConfig({ ...require, LANDING_PAGE: "graphiql" }))).toEqual([expect.stringMatching(/^GraphiQL loads but can run nothing/)]);
    expect(settingWarnings(loadConfig({ ...require, GRAPHQL_INTROSPECTION: "false" }))).toEqual([]);
    expect(settingWarnings(loadConfig({ ...require, PERSISTED_DOCUMENTS: "allow" }))).toEqual([]);
  });
});
