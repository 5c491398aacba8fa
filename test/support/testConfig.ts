import type { Config } from "../../src/config.js";

/** A configuration for tests: a free loopback port, silent logs, the emulator unless told otherwise. */
export function testConfig(overrides: Partial<Config> = {}): Config {
  return { port: 0, host: "127.0.0.1", logLevel: "silent", region: "us-east-1", production: false, upstream: { kind: "emulator" }, ...overrides };
}
