/**
 * The limit row of `npm run bench`: the same Fastify server, schema and resolvers, with loads answered
 * by constants in memory, so no upstream is involved. Prints its URL.
 */
import { Writable } from "node:stream";
import { loadConfig } from "../src/config/loadConfig.js";
import { createLogger } from "../src/observability/createLogger.js";
import { Metrics } from "../src/observability/Metrics.js";
import { createWatcher } from "../src/createWatcher.js";
import { startServer } from "../src/server/startServer.js";
import { constantSource, noStarter } from "./constantSource.js";
import { localCallerRules } from "../src/callers/CallerRules.js";

const config = loadConfig({ NODE_ENV: "production", APPFABRIC_EMULATOR: "true", PORT: process.env["PORT"] ?? "0", HOST: "127.0.0.1" });
const metrics = new Metrics();
const rules = localCallerRules({ budgets: config.callers, observer: metrics });
const server = await startServer({
  config,
  source: constantSource,
  starter: noStarter,
  rules,
  // The same log lines as the service (info), thrown away: the limit pays what the service pays.
  logger: createLogger({ level: "info", pretty: false, destination: new Writable({ write: (_c, _e, done) => done() }) }),
  metrics,
  readiness: async () => ({ ready: true, checks: { credentials: "ok", endpoint: "ok" } }),
  watcher: createWatcher(config.subscriptions, constantSource, { budgets: rules.budgets, metrics }),
});
process.stdout.write(`ready at ${server.url.href}\n`);
