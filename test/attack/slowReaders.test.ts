import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { spawnEntry, withTsx, type SpawnedEntry } from "../support/spawnEntry.js";
import { metric } from "../support/subscriptions.js";
import { UNBOUNDED_CALLER } from "../support/testConfig.js";

const CONNECTIONS = 100;
const SUBSCRIPTIONS = 5;
/** The process's bound in this test (WEBSOCKET_MAX_PENDING_BYTES); the README documents what it costs. */
const MAX_PENDING_BYTES = 16 * 1024 * 1024;
/**
 * What the README documents for this shape (the largest answer a direct caller may subscribe to):
 * peak RSS grew 128 MB for these 500 subscriptions (about 0.27 MB each); before the sent results were
 * released, 385 MB.
 */
const RSS_GROWTH_BOUND = 192 * 1024 * 1024;
const IN_PROGRESS_ID = DEMO_TASKS.find((task) => task.resultStatus === "IN_PROGRESS")?.taskId ?? "";
/** 500 copies of one task, 24 fields each (10 of them aliases): a large answer within every per-operation bound. */
const FIELDS =
  "taskId app tenantId tenantDisplayName resultStatus email userId userFullName userFirstName userLastName userStatus taskError { errorCode errorMessage } " +
  Array.from({ length: 10 }, (_, n) => `a${n}: userFullName`).join(" ");
const SUBSCRIBE = `subscription($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { ${FIELDS} } }`;

/** A masked client text frame (RFC 6455), as a browser sends it. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const length = payload.length;
  const header =
    length < 126
      ? Buffer.from([0x81, 0x80 | length])
      : length < 65_536
        ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255])
        : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), Buffer.from([0, 0, 0, 0, length >>> 24, (length >> 16) & 255, (length >> 8) & 255, length & 255])]);
  return Buffer.concat([header, mask, payload.map((byte, index) => byte ^ (mask[index % 4] ?? 0))]);
}

/** Peak and current RSS of a process, in bytes (/proc/<pid>/status). */
function rss(pid: number | undefined): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { peak: kb("VmHWM"), now: kb("VmRSS") };
}

/**
 * Clients that subscribe and then never read (issue 27). What the service holds for them is each
 * subscription's request (document, variables), the messages its sockets have not taken (counted toward
 * 1 MiB per connection and WEBSOCKET_MAX_PENDING_BYTES for the process, past which a connection is cut),
 * and no longer the last answer sent (graphql-ws kept it: see releaseSentResults). The service runs in
 * its own process so that its peak RSS is its own.
 */
describe("WebSocket clients that never read", () => {
  let entry: SpawnedEntry;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    entry = await spawnEntry(withTsx("src/index.ts"), {
      NODE_ENV: "production",
      APPFABRIC_EMULATOR: "true",
      PORT: "0",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      AUDIT_LOG: "off",
      WEBSOCKET_MAX_PENDING_BYTES: String(MAX_PENDING_BYTES),
      ...UNBOUNDED_CALLER,
    });
  }, 30_000);
  afterAll(() => {
    for (const socket of sockets) socket.destroy();
    entry.child.kill("SIGKILL");
  });

  /** Opens a connection, waits for connection_ack, subscribes SUBSCRIPTIONS times and stops reading. */
  const neverReading = () =>
    new Promise<void>((resolve, reject) => {
      const socket = connect(Number(entry.url.port), "127.0.0.1");
      sockets.push(socket);
      let received = "";
      socket.on("error", () => resolve());
      socket.on("data", (chunk: Buffer) => {
        received += chunk.toString("latin1");
        if (!received.includes("connection_ack")) return;
        socket.removeAllListeners("data");
        for (let n = 0; n < SUBSCRIPTIONS; n++) {
          socket.write(
            frame(JSON.stringify({ id: String(n), type: "subscribe", payload: { query: SUBSCRIBE, variables: { ids: Array(500).fill(IN_PROGRESS_ID) } } })),
          );
        }
        socket.pause();
        resolve();
      });
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${entry.url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\n` +
          "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n",
      );
      socket.write(frame(JSON.stringify({ type: "connection_init" })));
      setTimeout(() => reject(new Error("no connection_ack within 10 s")), 10_000).unref();
    });

  it(`keeps peak RSS within ${RSS_GROWTH_BOUND / 2 ** 20} MiB of its start through ${CONNECTIONS} connections × ${SUBSCRIPTIONS} large subscriptions never read`, async () => {
    const before = rss(entry.child.pid);
    for (let wave = 0; wave < CONNECTIONS; wave += 20) await Promise.all(Array.from({ length: 20 }, neverReading));
    // Let every subscription's first answer be made and handed to the sockets.
    for (let waited = 0; waited < 5_000; waited += 250) await new Promise((resolve) => setTimeout(resolve, 250));
    const after = rss(entry.child.pid);
    // What the sockets could not take is counted and bounded (`websocket_pending_bytes`; past 1 MiB a
    // connection is cut, `slow_reader`); here the kernel's buffers took every message.
    expect(await metric(entry.url, "websocket_pending_bytes")).toBeLessThanOrEqual(MAX_PENDING_BYTES);
    expect(after.peak - before.now).toBeLessThan(RSS_GROWTH_BOUND);
    // The service still answers.
    expect((await fetch(new URL("/health", entry.url))).status).toBe(200);
    expect(entry.output()).not.toMatch(/"level":50/);
  }, 60_000);
});
