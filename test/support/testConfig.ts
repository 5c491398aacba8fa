import { loadConfig, type Config } from "../../src/config/loadConfig.js";

/**
 * The service's defaults, with a free loopback port, silent logs, no audit trail and the emulator unless told
 * otherwise, and the result cache off: most tests count what reaches AppFabric for each request. The
 * cache's own tests (test/unit/CachedSource.test.ts, test/integration/fleet.test.ts) turn it on.
 */
/**
 * Every test runs as one caller (one token, or loopback), many times a second: budgets far above what
 * any test asks, except in the tests of the budgets themselves (test/attack/callers.test.ts).
 */
export const UNBOUNDED_CALLER = { CALLER_MAX_TASK_IDS_PER_SECOND: "1000000", CALLER_MAX_STARTS_PER_MINUTE: "100000" };

export function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  return {
    ...loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", RESULT_CACHE: "off", AUDIT_LOG: "off", ...UNBOUNDED_CALLER, ...env }),
    ...overrides,
  };
}

/** Production as `NODE_ENV=production` gives it, on the emulator. */
export const productionConfig = () => testConfig({}, { NODE_ENV: "production", APPFABRIC_EMULATOR: "true" });
