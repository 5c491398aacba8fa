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
});
