import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metric, wsUrl } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";
import { postInit, startAttackHarness, type AttackHarness } from "./attackHarness.js";

const HANDSHAKES = 2_000;
/** Attackers at once: each re-opens as soon as its socket is refused or closed. */
const ATTACKERS = 300;
const MAX_UNAUTHENTICATED = 32;

/**
 * WebSockets need no credential until `connection_init`, which graphql-ws waits 3 s for. Handshakes
 * that never send it are bounded on their own (WEBSOCKET_MAX_UNAUTHENTICATED), far below
 * MAX_CONNECTIONS: past it they are refused at once (503), and `/health` and authenticated HTTP keep
 * answering however many such handshakes come.
 */
describe("a flood of WebSocket handshakes that never authenticate", () => {
  let harness: AttackHarness;
  beforeAll(async () => {
    const base = testConfig();
    harness = await startAttackHarness({
      config: {
        limits: { ...base.limits, maxConnections: 256 },
        subscriptions: { ...base.subscriptions, maxUnauthenticatedConnections: MAX_UNAUTHENTICATED },
      },
    });
  });
  afterAll(() => harness.close());

  /** One handshake that never sends connection_init: resolves when the service refuses or closes it. */
  const handshake = () =>
    new Promise<"refused" | "held">((resolve) => {
      const socket = new WebSocket(wsUrl(harness.service.url), "graphql-transport-ws");
      let opened = false;
      socket.on("open", () => (opened = true));
      socket.on("unexpected-response", (_request, response) => {
        response.resume();
        socket.terminate();
        resolve("refused");
      });
      socket.on("error", () => resolve(opened ? "held" : "refused"));
      socket.on("close", () => resolve(opened ? "held" : "refused"));
    });

  const authenticatedHandshake = (headers: Record<string, string>) =>
    new Promise<"open" | "refused">((resolve) => {
      const socket = new WebSocket(wsUrl(harness.service.url), "graphql-transport-ws", { headers });
      socket.on("open", () => {
        resolve("open");
        socket.terminate();
      });
      socket.on("unexpected-response", (_request, response) => {
        response.resume();
        resolve("refused");
      });
      socket.on("error", () => resolve("refused"));
    });

  it(`keeps /health and an authenticated query answering through ${HANDSHAKES} handshakes without connection_init`, async () => {
    let started = 0;
    const outcomes = { refused: 0, held: 0 };
    const attacker = async () => {
      while (started < HANDSHAKES) {
        started += 1;
        outcomes[await handshake()] += 1;
      }
    };
    const flood = Promise.all(Array.from({ length: ATTACKERS }, attacker));
    let done = false;
    void flood.then(() => (done = true));

    const credentials = await harness.credentials();
    const answers: Array<{ health: number; query: number }> = [];
    // Bounded: the flood ends by itself (held sockets are closed after 3 s); at most 200 probes.
    while (!done && answers.length < 200) {
      const [health, query] = await Promise.all([
        fetch(new URL("/health", harness.service.url)).then((response) => response.status),
        harness.send("/", postInit({ query: "{ __typename }" }, credentials)).then((response) => response.status),
      ]);
      answers.push({ health, query });
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A handshake whose own headers carry valid credentials (a router's) is let in even while the bound is full.
    const admitted = done ? undefined : await authenticatedHandshake(credentials);
    await flood;

    expect(started).toBeGreaterThanOrEqual(HANDSHAKES);
    if (admitted !== undefined) expect(admitted).toBe("open");
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.health !== 200 || answer.query !== 200)).toEqual([]);
    // Most handshakes were turned away at once; at most the bound were ever held waiting for connection_init.
    expect(outcomes.refused).toBeGreaterThan(HANDSHAKES / 2);
    const counted = await metric(harness.service.url, 'http_requests_refused_total{reason="websocket_unauthenticated"}');
    expect(counted).toBeGreaterThan(HANDSHAKES / 2);
    expect(counted).toBeLessThanOrEqual(outcomes.refused);
    expect(harness.errorLines()).toEqual([]);
  });
});
