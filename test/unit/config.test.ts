import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("defaults to port 4000, us-east-1 and the embedded emulator", () => {
    expect(loadConfig({})).toEqual({ port: 4000, host: "0.0.0.0", logLevel: "info", region: "us-east-1", upstream: { kind: "emulator" }, production: false });
  });

  it("reads AWS mode, region and endpoint", () => {
    expect(
      loadConfig({
        PORT: "8080",
        AWS_REGION: "eu-west-1",
        APPFABRIC_APP_BUNDLE: "arn:aws:appfabric:eu-west-1:111122223333:appbundle/x",
        APPFABRIC_ENDPOINT: "https://vpce-1.appfabric.eu-west-1.vpce.amazonaws.com",
        NODE_ENV: "production",
        HOST: "127.0.0.1",
        LOG_LEVEL: "warn",
      }),
    ).toEqual({
      port: 8080,
      host: "127.0.0.1",
      logLevel: "warn",
      region: "eu-west-1",
      upstream: {
        kind: "aws",
        appBundleIdentifier: "arn:aws:appfabric:eu-west-1:111122223333:appbundle/x",
        endpoint: new URL("https://vpce-1.appfabric.eu-west-1.vpce.amazonaws.com"),
      },
      production: true,
    });
  });

  it("takes AWS_DEFAULT_REGION when AWS_REGION is unset, and AWS_REGION over it", () => {
    expect(loadConfig({ AWS_DEFAULT_REGION: "ap-northeast-1" }).region).toBe("ap-northeast-1");
    expect(loadConfig({ AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "ap-northeast-1" }).region).toBe("eu-west-1");
  });

  it("runs production on the emulator only when asked to", () => {
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/^APPFABRIC_APP_BUNDLE must be set in production/);
    expect(loadConfig({ NODE_ENV: "production", APPFABRIC_EMULATOR: "true" }).upstream).toEqual({ kind: "emulator" });
  });

  it("accepts a bundle UUID", () => {
    expect(loadConfig({ APPFABRIC_APP_BUNDLE: "a1b2c3d4-0000-4000-8000-00000000b0d1" }).upstream).toEqual({
      kind: "aws",
      appBundleIdentifier: "a1b2c3d4-0000-4000-8000-00000000b0d1",
    });
  });

  it.each([
    { env: { PORT: "http" }, message: 'PORT must be an integer from 0 to 65535; received "http".' },
    { env: { PORT: "70000" }, message: 'PORT must be an integer from 0 to 65535; received "70000".' },
    { env: { AWS_REGION: "Europe" }, message: 'AWS_REGION must be an AWS region such as us-east-1; received "Europe".' },
    { env: { AWS_DEFAULT_REGION: "us_east_1" }, message: 'AWS_DEFAULT_REGION must be an AWS region such as us-east-1; received "us_east_1".' },
    { env: { APPFABRIC_APP_BUNDLE: "my-bundle" }, message: expect.stringMatching(/^APPFABRIC_APP_BUNDLE must be an app bundle ARN .*; received "my-bundle"\.$/) },
    { env: { APPFABRIC_APP_BUNDLE: "arn:x", APPFABRIC_ENDPOINT: "appfabric.local" }, message: expect.stringMatching(/^APPFABRIC_ENDPOINT must be an http\(s\) URL/) },
    { env: { LOG_LEVEL: "verbose" }, message: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; received "verbose".' },
    { env: { APPFABRIC_EMULATOR: "yes" }, message: 'APPFABRIC_EMULATOR must be true or false; received "yes".' },
    { env: { APPFABRIC_EMULATOR: "true", APPFABRIC_APP_BUNDLE: "arn:x" }, message: expect.stringMatching(/^APPFABRIC_EMULATOR must be unset or false/) },
    { env: { APPFABRIC_ENDPOINT: "http://127.0.0.1:9000" }, message: expect.stringMatching(/^APPFABRIC_APP_BUNDLE must be set when APPFABRIC_ENDPOINT is/) },
  ])("rejects $env with one line naming the variable", ({ env, message }) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(expect.objectContaining({ message }));
  });
});
