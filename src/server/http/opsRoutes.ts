import type { FastifyInstance } from "fastify";
import type { ServerObserver } from "../ServerObserver.js";
import type { ReadinessReport } from "../createReadinessCheck.js";

/**
 * `/health` (the process answers), `/ready` (credentials and AppFabric's endpoint, cached) and
 * `/metrics` (Prometheus). Open, for probes and scrapers: keep them off the public network.
 */
export function opsRoutes(app: FastifyInstance, options: { metrics: ServerObserver; readiness: () => Promise<ReadinessReport> }): void {
  const { metrics } = options;
  app.get("/health", async () => ({ status: "ok" }));
  app.get("/ready", async (_request, reply) => {
    const report = await options.readiness();
    return reply.code(report.ready ? 200 : 503).send(report);
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
