import { connect } from "node:net";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { Metrics } from "../../src/observability/Metrics.js";
import { closeTimedOutConnection } from "../../src/server/http/refusals.js";
import { collectLogs } from "../support/collectLogs.js";

/** Node raises `timeout` both for a stalled request and for an idle keep-alive connection; only the first is a refusal. */
describe("connections closed on timeout", () => {
  it("closes an idle keep-alive connection quietly, and logs one that stalled mid-answer", async () => {
    const logs = collectLogs();
    // Short timeouts: keep-alive 200 ms, no progress 1 s.
    const app = Fastify({ keepAliveTimeout: 200, connectionTimeout: 1_000 });
    app.server.on("timeout", closeTimedOutConnection(app.server, { logger: logs.logger, metrics: new Metrics() }));
    const big = "y".repeat(100_000);
    app.get("/", async () => "ok");
    app.get("/big", async () => big);
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as { port: number };
    try {
      const idle = connect(port, "127.0.0.1");
      idle.on("error", () => undefined);
      idle.resume();
      idle.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
      await new Promise((resolve) => idle.once("close", resolve));
      expect(logs.lines().filter((line) => line["reason"] === "connection_stalled")).toEqual([]);

      const reader = connect(port, "127.0.0.1");
      reader.on("error", () => undefined);
      reader.pause(); // never reads: 400 answers of 100 KB outgrow both ends' buffers
      for (let n = 0; n < 400; n++) reader.write("GET /big HTTP/1.1\r\nhost: x\r\n\r\n");
      for (let waited = 0; !logs.lines().some((line) => line["reason"] === "connection_stalled"); waited += 50) {
        if (waited > 15_000) throw new Error("The stalled reader was not closed");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      reader.destroy();
    } finally {
      app.server.closeAllConnections();
      await app.close();
    }
  });
});
