import { loadConfig, type Config } from "../../src/config.js";

/** The service's defaults, with a free loopback port, silent logs and the emulator unless told otherwise. */
export function testConfig(overrides: Partial<Config> = {}, env: Record<string, string> = {}): Config {
  return { ...loadConfig({ PORT: "0", HOST: "127.0.0.1", LOG_LEVEL: "silent", ...env }), ...overrides };
}

/** Production as `NODE_ENV=production` gives it, on the emulator. */
export const productionConfig = () => testConfig({}, { NODE_ENV: "production", APPFABRIC_EMULATOR: "true" });
