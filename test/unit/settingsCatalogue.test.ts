import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CATALOGUE, type IntegerSettingName } from "../../src/config/catalogue.js";
import { ConfigError, loadConfig } from "../../src/config/loadConfig.js";
import { loadEmulatorConfig } from "../../src/config/loadEmulatorConfig.js";
import { printConfig } from "../../src/config/printConfig.js";
import { settingWarnings } from "../../src/config/settingWarnings.js";
import { settingsTables, withSettingsTables } from "../../src/config/settingsTables.js";
import type { IntegerSpec, SettingSpec } from "../../src/config/SettingSpec.js";

const all: SettingSpec[] = CATALOGUE.flatMap(({ settings }) => [...settings]);
const integers = all.filter((spec): spec is IntegerSpec => spec.kind === "integer");
/** Where an integer setting is read at all: a token's lifetime only with JWT verification, tracing's only with an endpoint, the emulator's ports only by `npm run emulator`. */
const JWT = {
  AUTH_JWT_PUBLIC_KEY: generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString(),
  AUTH_JWT_ISSUER: "https://issuer.example/",
  AUTH_JWT_AUDIENCE: "subgraph",
};
function load(name: string, value: string): void {
  if (name.startsWith("AUTH_JWT_")) loadConfig({ ...JWT, [name]: value });
  else if (name.startsWith("OTEL_")) loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", [name]: value });
  else if (name === "EMULATOR_PORT") loadEmulatorConfig({ [name]: value });
  else loadConfig({ [name]: value });
}

describe("the settings catalogue", () => {
  it("declares each variable once, with a line of documentation that fits a table cell", () => {
    const names = all.flatMap((spec) => [spec.name, ...(spec.aliases ?? []), ...(spec.deprecatedNames ?? [])]);
    expect(new Set(names).size).toBe(names.length);
    for (const spec of all) {
      expect(spec.doc, spec.name).not.toMatch(/[|\n]/);
      expect(spec.name, spec.name).toMatch(/^[A-Z][A-Z0-9_]+$/);
    }
  });

  it.each(integers.map((spec) => [spec.name, spec] as const))("%s: its catalogued bounds are what the reader enforces", (name, spec) => {
    if (spec.default !== undefined) expect(spec.default).toBeGreaterThanOrEqual(spec.min);
    expect(() => load(name, String(spec.max))).not.toThrow();
    const refusal = (() => {
      try {
        load(name, String(spec.max + 1));
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(ConfigError);
    expect(String((refusal as ConfigError).message)).toContain(`${name} must be an integer from`);
  });

  it("reads a former name, warns that it is one, and lets the new name win", () => {
    const old = loadConfig({ APPFABRIC_WATCH_INTERVAL_MS: "2000" });
    expect(old.subscriptions.watchIntervalMs).toBe(2000);
    expect(settingWarnings(old)).toEqual([
      "APPFABRIC_WATCH_INTERVAL_MS is a former name of SUBSCRIPTION_WATCH_INTERVAL_MS: it is still read, but set SUBSCRIPTION_WATCH_INTERVAL_MS instead.",
    ]);
    // A bad value under the old name is refused under the old name: the one the operator wrote.
    expect(() => loadConfig({ APPFABRIC_WATCH_INTERVAL_MS: "5" })).toThrow(/^APPFABRIC_WATCH_INTERVAL_MS must be an integer from 100/);
    const both = loadConfig({ APPFABRIC_WATCH_INTERVAL_MS: "2000", SUBSCRIPTION_WATCH_INTERVAL_MS: "3000" });
    expect(both.subscriptions.watchIntervalMs).toBe(3000);
    expect(settingWarnings(both)).toEqual([]);
  });

  it("names a variable with the service's own prefix that no setting reads, and the closest that does", () => {
    const config = loadConfig({
      REDIS_URl: "redis://x",
      SUBSCRIPTION_MAX_LIFETIME: "60",
      APPFABRIC_SOMETHING_ELSE_ENTIRELY: "1",
      AWS_PROFILE: "p",
      OTEL_FOO: "1",
      AUTH_X: "",
    });
    expect(settingWarnings(config)).toEqual([
      "APPFABRIC_SOMETHING_ELSE_ENTIRELY is not a setting of this service and is ignored",
      "REDIS_URl is not a setting of this service and is ignored: did you mean REDIS_URL?",
      "SUBSCRIPTION_MAX_LIFETIME is not a setting of this service and is ignored: did you mean SUBSCRIPTION_MAX_LIFETIME_S?",
    ]);
    // Names only: a value never reaches the warning.
    expect(settingWarnings(config).join("\n")).not.toContain("redis://x");
  });

  it("makes the README's tables, and the README holds them as made", () => {
    const tables = settingsTables();
    for (const spec of all) expect(tables).toContain(`| \`${spec.name}\` |`);
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    expect(withSettingsTables(readme)).toBe(readme);
  });
});

describe("what a configuration error or --print-config shows (found by an outside attack)", () => {
  it("never shows a URL whose credential holds a /, which parses as host, port and a path", () => {
    for (const [env, secret] of [
      [{ REDIS_URL: "redis://user:9999/PwSlash77@host:6379/0" }, "PwSlash77"],
      [{ REDIS_URL: "rediss://default:443/Zx92+k=@redis.internal:6380/0" }, "Zx92"],
    ] as const) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).not.toThrow(secret);
    }
    const printed = printConfig({
      AUTH_JWKS_URL: "https://jw:8443/JwSlash93@idp.example.com/jwks",
      OTEL_EXPORTER_OTLP_ENDPOINT: "https://ot:4318/OtSlash95@otel.example.com",
    }).join("\n");
    expect(printed).not.toMatch(/JwSlash93|OtSlash95/);
  });

  it("keeps an error one line whatever control characters the value holds", () => {
    expect(() => loadConfig({ LOG_LEVEL: "info\nInjected line" })).toThrow(
      'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; received "info\\u000aInjected line".',
    );
  });
});

describe("--print-config", () => {
  const secrets = {
    ROUTER_SECRET: "router-secret-0123456789",
    REDIS_URL: "rediss://app:redis-password@redis.internal:6380/0",
    REDIS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    AUDIT_KEY: "audit-key-0123456789-0123456789-0123",
    OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20otel-token",
    AUTH_JWKS_URL: "https://user:jwks-password@idp.example/jwks?token=jwks-token",
  };

  it("shows every setting, secrets masked and URLs without their credentials", () => {
    const text = printConfig({ ...secrets, PORT: "4100", AWS_DEFAULT_REGION: "eu-west-1" }).join("\n");
    for (const spec of all) expect(text).toMatch(new RegExp(`^${spec.name}[= ]`, "m"));
    for (const value of ["router-secret", "redis-password", secrets.REDIS_ENCRYPTION_KEY, "audit-key", "otel-token", "jwks-password", "jwks-token"]) {
      expect(text).not.toContain(value);
    }
    expect(text).toContain("ROUTER_SECRET=[set, not shown]");
    expect(text).toContain("REDIS_URL=rediss://redacted@redis.internal:6380/0");
    expect(text).toContain("PORT=4100\n");
    expect(text).toContain("AWS_REGION=eu-west-1  # from AWS_DEFAULT_REGION");
    expect(text).toContain("MAX_CONNECTIONS  # unset, default: 1024");
  });

  it("reads each integer default from the catalogue, as the reader does", () => {
    const name: IntegerSettingName = "MAX_CONNECTIONS";
    expect(loadConfig({}).limits.maxConnections).toBe(integers.find((spec) => spec.name === name)?.default);
  });
});
