/**
 * `npm run supergraph`: a real supergraph on your machine. The user-access subgraph (on its embedded
 * AppFabric emulator), the demo access-reviews subgraph, and Apollo Gateway composing the two from
 * their `_service { sdl }`, with Sandbox on a query that crosses them.
 */
import { randomBytes } from "node:crypto";
import { ConfigError, loadConfig, type Config } from "../../src/config/loadConfig.js";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { startService } from "../../src/startService.js";
import { startAccessReviewsSubgraph } from "./accessReviewsSubgraph.js";
import { startGateway } from "./startGateway.js";

const EXAMPLE_QUERY = `# accessReviews come from the access-reviews subgraph; each task's fields from user-access,
# all of a review's tasks in one batched BatchGetUserAccessTasks call.
query Reviews {
  accessReviews {
    title
    reviewer
    tasks {
      taskId
      app
      resultStatus
      userStatus
      taskError {
        errorCode
      }
    }
  }
}
`;

// The gateway authenticates to the subgraph as a router does, so its query plans get a router's limits.
const routerSecret = randomBytes(24).toString("base64url");
let config: Config;
try {
  config = loadConfig({ PORT: process.env["PORT"], LOG_LEVEL: process.env["LOG_LEVEL"] ?? "warn", ROUTER_SECRET: routerSecret });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Configuration error: ${error.message}`);
  process.exit(1);
}

const userAccess = await startService({ ...config, port: 0, host: "127.0.0.1" });
const accessReviews = await startAccessReviewsSubgraph([
  { id: "leaver-jordan", title: "Leaver check: Jordan Rivers", reviewer: "IT operations", taskIds: DEMO_TASKS.flatMap((task) => task.taskId ?? []) },
  { id: "quarterly-slack-okta", title: "Quarterly review: Slack and Okta", reviewer: "Security team", taskIds: userAccess.demoTaskIds.slice(0, 2) },
]);
const gateway = await startGateway(
  [
    { name: "user-access", url: userAccess.url },
    { name: "access-reviews", url: accessReviews.url },
  ],
  { port: config.port, exampleQuery: EXAMPLE_QUERY, routerSecret },
);

console.log(`Supergraph (Apollo Gateway) ready at ${gateway.url.href}: open it for Sandbox.`);
console.log(`  user-access subgraph:    ${userAccess.url.href} (embedded AppFabric emulator, no AWS calls)`);
console.log(`  access-reviews subgraph: ${accessReviews.url.href}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void Promise.all([gateway.stop(), accessReviews.stop(), userAccess.stop()]).then(() => process.exit(0));
  });
}
