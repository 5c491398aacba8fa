import { loadConfig, type Config } from "../../src/config.js";

/**
 * The service's defaults, with a free loopback port, silent logs and the emulator unless told
 * otherwise, and the result cache off: most tests count what reaches AppFabric for each request. The
 * cache's own tests (test/unit/CachedSource.test.ts, test/integration/fleet.test.ts) turn it on.
 */
export function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  return { ...loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", RESULT_CACHE: "off", ...env }), ...overrides };
}

/** Production as `NODE_ENV=production` gives it, on the emulator. */
export const productionConfig = () => testConfig({}, { NODE_ENV: "production", APPFABRIC_EMULATOR: "true" });
