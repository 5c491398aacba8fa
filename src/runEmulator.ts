/**
 * `npm run emulator`: the AppFabric emulator on its own, for the AWS CLI, boto3 and the AWS SDKs. It
 * prints the endpoint and the demo key (a key the emulator alone accepts, published in the README),
 * answers until SIGINT or SIGTERM, then closes.
 */
import { ConfigError } from "./config/ConfigError.js";
import { loadEmulatorConfig } from "./config/loadEmulatorConfig.js";
import { AppFabricEmulator } from "./emulator/AppFabricEmulator.js";
import { DEMO_APP_BUNDLE_ARN, DEMO_TASKS, EMULATOR_CREDENTIALS } from "./emulator/demoData.js";

let config;
try {
  config = loadEmulatorConfig(process.env);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
}

let emulator: AppFabricEmulator;
try {
  emulator = await AppFabricEmulator.start({ host: config.host, port: config.port, region: config.region, latencyMs: config.latencyMs, faults: config.faults });
} catch (error) {
  const code = (error as { code?: unknown }).code;
  if (code !== "EADDRINUSE" && code !== "EADDRNOTAVAIL" && code !== "EACCES") throw error;
  console.error(`Configuration error: EMULATOR_PORT ${config.port} on EMULATOR_HOST ${config.host} cannot be used (${String(code)}); choose another.`);
  process.exit(1);
}

const endpoint = emulator.url.href.replace(/\/$/, "");
const taskIds = DEMO_TASKS.map((task) => task.taskId ?? "");
console.log(
  [
    `AppFabric emulator ready at ${emulator.url.href} (region ${config.region}). No AWS account is involved.`,
    "",
    "Its demo key (accepted by this emulator only):",
    `  export AWS_ACCESS_KEY_ID=${EMULATOR_CREDENTIALS.accessKeyId}`,
    `  export AWS_SECRET_ACCESS_KEY=${EMULATOR_CREDENTIALS.secretAccessKey}`,
    `  export AWS_REGION=${config.region}`,
    `App bundle: ${DEMO_APP_BUNDLE_ARN}`,
    `Demo task ids: ${taskIds.join(" ")}`,
    "",
    "Try:",
    `  aws appfabric batch-get-user-access-tasks --endpoint-url ${endpoint} --app-bundle-identifier ${DEMO_APP_BUNDLE_ARN} --task-id-list ${taskIds[0] ?? ""}`,
    `  aws appfabric start-user-access-tasks --endpoint-url ${endpoint} --app-bundle-identifier ${DEMO_APP_BUNDLE_ARN} --email jordan.rivers@example.com`,
    `  python3 -c "import boto3; print(boto3.client('appfabric', endpoint_url='${endpoint}').batch_get_user_access_tasks(appBundleIdentifier='${DEMO_APP_BUNDLE_ARN}', taskIdList=['${taskIds[0] ?? ""}'])['userAccessResultsList'])"`,
  ].join("\n"),
);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void emulator.close().then(() => process.exit(0));
  });
}
