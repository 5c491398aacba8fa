/**
 * One HTTP integration of the same Apollo Server, for `bench/compareHttpServers.ts`: `standalone`
 * (node:http, Apollo's startStandaloneServer), `express` (Express 5) or `fastify` (Fastify 5). Loads
 * are answered in memory, so what differs between variants is only the HTTP layer. Prints the port.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startStandaloneServer } from "@apollo/server/standalone";
import { expressMiddleware } from "@as-integrations/express5";
import fastifyApollo, { fastifyApolloDrainPlugin } from "@as-integrations/fastify";
import express from "express";
import Fastify from "fastify";
import { createApolloServer } from "../src/server/createApolloServer.js";
import { CLIENT_MAX_ALIASES } from "../src/server/operationLimits.js";
import { createOperation } from "../src/server/createOperation.js";
import { constantSource, noStarter } from "./constantSource.js";
import { addressCaller } from "../src/callers/Caller.js";
import { localCallerRules } from "../src/callers/CallerRules.js";
import { buildSchema } from "../src/server/buildSchema.js";
import { Metrics } from "../src/observability/Metrics.js";

const rules = localCallerRules({ budgets: { taskIdsPerSecond: 500, startsPerMinute: 20, persistedBytesPerMinute: 262_144 }, observer: new Metrics() });

// Each operation ends at once here: the variants measure the HTTP layer, not the deadline timer.
const context = async () => {
  const operation = createOperation({
    source: constantSource,
    starter: noStarter,
    requestId: "bench",
    caller: addressCaller("127.0.0.1"),
    rules,
    deadlineMs: 15_000,
  });
  operation.end();
  return operation.context;
};
const variant = process.argv[2];
const apollo = createApolloServer({
  schema: buildSchema(),
  production: true,
  introspection: false,
  limits: { maxTaskIds: 500, maxRootFieldTaskIds: 500, maxAliases: CLIENT_MAX_ALIASES },
});

let port: number;
if (variant === "standalone") {
  const { url } = await startStandaloneServer(apollo, { listen: { port: 0, host: "127.0.0.1" }, context });
  port = Number(new URL(url).port);
} else if (variant === "express") {
  await apollo.start();
  const app = express();
  app.use("/", express.json(), expressMiddleware(apollo, { context }));
  const server = createServer(app).listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  port = (server.address() as AddressInfo).port;
} else if (variant === "fastify") {
  const app = Fastify();
  apollo.addPlugin(fastifyApolloDrainPlugin(app));
  await apollo.start();
  await app.register(fastifyApollo(apollo), { path: "/", context });
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
} else {
  throw new Error(`Expected a variant (standalone, express, fastify); received "${variant}".`);
}
process.stdout.write(`${port}\n`);
