import { ConfigError, loadConfig } from "./config.js";
import { startService } from "./startService.js";

let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
}

const service = await startService(config);
console.log(`AppFabric user-access subgraph ready at ${service.url.href}`);
if (service.upstream.kind === "emulator") {
  console.log(`Upstream: the embedded AppFabric emulator at ${service.upstream.endpoint.href}. No AWS calls are made.`);
  console.log("Set APPFABRIC_APP_BUNDLE (and AWS credentials) to use the real AppFabric.");
  console.log(`Open ${service.url.href} in a browser: Sandbox starts on an example query over these demo task ids:`);
  for (const taskId of service.demoTaskIds) console.log(`  ${taskId}`);
} else {
  console.log(`Upstream: AWS AppFabric at ${service.upstream.endpoint.href}`);
  if (!config.production) console.log(`Open ${service.url.href} in a browser for Sandbox.`);
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void service.stop().then(() => process.exit(0));
  });
}
