import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { spawnEntry, withTsx, type SpawnedEntry } from "../support/spawnEntry.js";
import { testConfig } from "../support/testConfig.js";
import { startAttackHarness, type AttackHarness } from "./attackHarness.js";

/** Opens a connection and sends the start of a POST whose body never finishes. */
async function stalledUpload(url: URL, headers: Record<string, string> = {}): Promise<{ socket: Socket; received: () => string; closed: Promise<unknown> }> {
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, "connect");
  let received = "";
  socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
  socket.on("error", () => undefined);
  const closed = new Promise((resolve) => socket.once("close", resolve));
  const extra = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("");
  socket.write(`POST / HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n${extra}\r\n{"query":`);
  return { socket, received: () => received, closed };
}

/**
 * Class 6: a request must arrive within REQUEST_TIMEOUT_MS, connections are bounded by
 * MAX_CONNECTIONS, and SIGTERM ends within SHUTDOWN_GRACE_MS whatever the clients do.
 */
describe("slow and stalled clients", () => {
  let harness: AttackHarness | undefined;
  let entry: SpawnedEntry | undefined;
  afterEach(async () => {
    await harness?.close();
    harness = undefined;
    entry?.child.kill("SIGKILL");
    entry = undefined;
  });

  it("answers a stalled upload 408 and closes it once REQUEST_TIMEOUT_MS has passed, logged as a refusal", async () => {
    harness = await startAttackHarness({ config: { limits: { ...testConfig().limits, requestTimeoutMs: 300 } } });
    const stalled = await stalledUpload(harness.service.url, await harness.credentials());
    await stalled.closed;
    expect(stalled.received()).toMatch(/^HTTP\/1\.1 408/);
    expect(stalled.received()).toContain('"code":"BAD_REQUEST"');
    expect(harness.emulator.calls).toEqual([]);
    expect(harness.logs.lines()).toContainEqual(expect.objectContaining({ level: 30, msg: "request refused", status: 408, reason: "request_timeout" }));
  });

  it("closes a connection that never finishes its headers", async () => {
    harness = await startAttackHarness({ config: { limits: { ...testConfig().limits, requestTimeoutMs: 300 } } });
    const socket = connect(Number(harness.service.url.port), harness.service.url.hostname);
    socket.on("error", () => undefined);
    let received = "";
    socket.on("data", (chunk: Buffer) => (received += chunk.toString()));
    await once(socket, "connect");
    socket.write("POST / HTTP/1.1\r\nhost: x\r\nx-slow: ");
    await new Promise((resolve) => socket.once("close", resolve));
    expect(received).toMatch(/^HTTP\/1\.1 408/);
  });

  it("closes the connection of a client that stops reading its answers", async () => {
    // No progress for REQUEST_TIMEOUT_MS + OPERATION_TIMEOUT_MS + 5 s closes the socket.
    harness = await startAttackHarness({ config: { limits: { ...testConfig().limits, requestTimeoutMs: 300, operationTimeoutMs: 500 } } });
    const url = harness.service.url;
    const credentials = Object.entries(await harness.credentials())
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join("");
    const body = JSON.stringify({ query: `{ userAccessTasks(ids: [${Array(400).fill('"x"').join(",")}]) { taskId } }` });
    const socket = connect(Number(url.port), url.hostname);
    socket.on("error", () => undefined);
    await once(socket, "connect");
    socket.pause(); // never read
    const request = `POST / HTTP/1.1\r\nhost: ${url.host}\r\n${credentials}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    // 40 MB of answers: more than the kernel buffers on both ends of a loopback connection hold.
    for (let n = 0; n < 400; n++) socket.write(request);
    const h = harness;
    // Closed either for no progress, or because a pipelined request stuck half-read ran past REQUEST_TIMEOUT_MS.
    const closedFor = () => h.logs.lines().some((line) => line["reason"] === "connection_stalled" || line["reason"] === "request_timeout");
    for (let waited = 0; !closedFor(); waited += 100) {
      if (waited > 20_000) throw new Error("The stalled reader's connection was not closed");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The server closed it with answers unsent: reading now gets far less than the 40 MB asked for.
    let received = 0;
    socket.on("data", (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await new Promise((resolve) => socket.once("close", resolve));
    expect(received).toBeLessThan(20_000_000);
  });

  it("holds at most MAX_CONNECTIONS connections: the next is closed at once, and the service still answers after", async () => {
    harness = await startAttackHarness({ config: { limits: { ...testConfig().limits, maxConnections: 5, requestTimeoutMs: 2_000 } } });
    const held = await Promise.all(Array.from({ length: 5 }, () => stalledUpload(harness?.service.url ?? new URL("http://x"))));
    const extra = connect(Number(harness.service.url.port), harness.service.url.hostname);
    extra.on("error", () => undefined);
    extra.resume();
    await new Promise((resolve) => extra.once("close", resolve));
    for (const { socket } of held) socket.destroy();
    await Promise.all(held.map(({ closed }) => closed));
    // Once the server has seen them close, there is room again.
    let status = 0;
    for (let tries = 0; status !== 200 && tries < 100; tries++) {
      status = await harness.send("/health").then(
        (response) => response.status,
        () => 0,
      );
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
  });

  it("on SIGTERM, still logs the operations the grace period cut off", async () => {
    entry = await spawnEntry(withTsx("src/index.ts"), { PORT: "0", SHUTDOWN_GRACE_MS: "300", APPFABRIC_EMULATOR_LATENCY_MS: "10000" });
    const { url } = entry;
    const answer = fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: '{ __typename userAccessTask(id: "3f0c9e5e-6b1d-4b8a-9a55-2f4c1d0e7a21") { app } }' }),
    }).catch(() => undefined);
    const callsInFlight = async () => Number(/appfabric_calls_in_flight\{[^}]*\} (\d+)/.exec(await (await fetch(new URL("/metrics", url))).text())?.[1] ?? 0);
    for (let waited = 0; (await callsInFlight()) === 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(entry.child, "exit");
    entry.child.kill("SIGTERM");
    expect((await exited)[0]).toBe(0);
    await answer;
    expect(entry.output()).toMatch(/"outcome":"abandoned"[^\n]*"msg":"operation"/);
  });

  it("on SIGTERM, exits 0 within the grace period even with a stalled upload open", async () => {
    entry = await spawnEntry(withTsx("src/index.ts"), { PORT: "0", SHUTDOWN_GRACE_MS: "300", REQUEST_TIMEOUT_MS: "60000" });
    // `Expect: 100-continue` makes Node answer "100 Continue" once it has handed the request to the
    // server: only then is the upload a request in flight (before, a SIGTERM meets a connection whose
    // request arrives after closing began, which is answered 503 and closed without any grace).
    const stalled = await stalledUpload(entry.url, { expect: "100-continue" });
    for (let waited = 0; !stalled.received().includes("100 Continue") && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(stalled.received()).toContain("100 Continue");
    const exited = once(entry.child, "exit");
    entry.child.kill("SIGTERM");
    // The service's own lines say why, should it ever exit otherwise.
    expect((await exited)[0], entry.output()).toBe(0);
    await stalled.closed;
    expect(entry.output()).toContain("Shutdown grace period over");
  });
});
