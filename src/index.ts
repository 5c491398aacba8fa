import { ConfigError, loadConfig } from "./config/loadConfig.js";
import { printConfig } from "./config/printConfig.js";
import { settingWarnings } from "./config/settingWarnings.js";
import { lookup } from "./config/env.js";
import { sharedConfigRegion } from "./config/sharedConfigRegion.js";
import { listenProblem } from "./lib/listenProblem.js";
import { startService } from "./startService.js";

let config;
try {
  // As AWS SDKs do: without AWS_REGION or AWS_DEFAULT_REGION, the profile's region in ~/.aws/config.
  const regionSet = lookup(process.env, "AWS_REGION") !== undefined;
  config = loadConfig(process.env, regionSet ? {} : { profileRegion: await sharedConfigRegion(process.env) });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
}
// `--print-config`: the effective settings (secrets masked) and the start-up warnings, then exit; nothing starts.
if (process.argv.includes("--print-config")) {
  console.log([...printConfig(process.env), "", ...settingWarnings(config).map((warning) => `# warning: ${warning}`)].join("\n").trimEnd());
  process.exit(0);
}

const onEmulator = config.upstream.kind === "emulator";
let service;
try {
  service = await startService(config, { prettyLogs: onEmulator && process.stdout.isTTY === true });
} catch (error) {
  const problem = listenProblem(error, config.host, config.port);
  if (problem === undefined) throw error;
  console.error(`Configuration error: ${problem}`);
  process.exit(1);
}
const { logger } = service;
logger.info({ url: service.url.href, upstream: service.upstream.kind }, `AppFabric user-access subgraph ready at ${service.url.href}`);
if (config.tracing !== undefined) {
  // The collector's address without any credentials a URL might hold.
  const { origin, pathname } = config.tracing.url;
  logger.info(`Tracing: OTLP/HTTP (${config.tracing.protocol}) to ${origin}${pathname}`);
}
if (onEmulator) {
  logger.info(`Upstream: the embedded AppFabric emulator at ${service.upstream.endpoint.href}. No AWS calls are made.`);
  logger.info("Set APPFABRIC_APP_BUNDLE (and AWS credentials) to use the real AppFabric.");
  const page = config.graphiql === undefined ? "Sandbox" : "GraphiQL";
  if (config.introspection) logger.info(`Open ${service.url.href} in a browser: ${page} starts on an example query over the demo task ids.`);
  logger.info({ demoTaskIds: service.demoTaskIds }, `Demo task ids: ${service.demoTaskIds.join(", ")}`);
} else {
  logger.info(`Upstream: AWS AppFabric at ${service.upstream.endpoint.href}`);
  if (!config.production) logger.info(`Open ${service.url.href} in a browser for Sandbox.`);
}

// Drain in-flight requests, then exit 0: what a platform's SIGTERM expects.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    logger.info({ signal }, "Stopping: draining in-flight requests");
    void service.stop().then(() => process.exit(0));
  });
}
