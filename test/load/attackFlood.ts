/**
 * `npm run test:attack`: the floods of the hardening issue against the production build
 * (`dist/index.js`, NODE_ENV=production, router secret and JWT on), with the emulator in a process of
 * its own. Loopback only, bounded in count and time; it stops by itself and exits non-zero if a
 * promise is broken. Writes bench/results/attack.{md,json}.
 *
 * 1. Abandoned work: 2,000 requests of 500 ids whose clients give up after 1 s. Must hold: no
 *    AppFabric call starts after the last client has its answer.
 * 2. Cost: 1,000 requests of 80 KB listing one malformed id 20,000 times. Must hold: each refused
 *    cheaply; /health stays fast.
 * 3. Stalled uploads: 2,000 connections that send half a body and stop. Must hold: each closed after
 *    REQUEST_TIMEOUT_MS; at most MAX_CONNECTIONS held.
 * 4. Drain: SIGTERM with stalled uploads open. Must hold: exit 0 within SHUTDOWN_GRACE_MS (+1 s).
 *
 * Reported for each: peak RSS of the service, its event-loop delay p99 and max (prom-client's
 * monitorEventLoopDelay, read from /metrics, which resets it on each read), and /health latency
 * measured on a fresh connection every 50 ms.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { openSync, readFileSync, writeFileSync } from "node:fs";
import { get, request as httpRequest } from "node:http";
import { connect, type Socket } from "node:net";
import { cpus } from "node:os";
import { Worker } from "node:worker_threads";
import { exportSPKI, generateKeyPair, SignJWT } from "jose";
import { freePort, healthy, startEmulatorProcess } from "../../bench/serviceProcess.js";
import { DEMO_APP_BUNDLE_ARN, EMULATOR_CREDENTIALS } from "../../src/emulator/demoData.js";
import { syntheticTaskId } from "../fixtures/syntheticTasks.js";

const TIME_LIMIT_MS = 300_000;
const ABANDON = { requests: 2_000, ids: 500, concurrency: 200, giveUpMs: 1_000 };
const COST = { requests: 1_000, listed: 20_000, concurrency: 20 };
const STALLED = { connections: 2_000, requestTimeoutMs: 5_000 };
const DRAIN = { connections: 50, graceMs: 2_000 };
const ROUTER_SECRET = "attack-flood-router-secret-0123";
/** The flooded service's log lines, kept for a look after the run (they carry no personal data). */
const SERVICE_LOG = "bench/results/attack-service.log";
const ISSUER = "https://login.example.com/";
const AUDIENCE = "user-access";

const deadline = setTimeout(() => {
  console.error(`test:attack: over its ${TIME_LIMIT_MS / 1000} s limit; stopping.`);
  process.exit(2);
}, TIME_LIMIT_MS);
deadline.unref();

console.log("Building the production build (npm run build)…");
if (spawnSync("npm", ["run", "build"], { stdio: "inherit" }).status !== 0) process.exit(1);

const { privateKey, publicKey } = await generateKeyPair("ES256");
const token = await new SignJWT({ sub: "attack-flood" })
  .setProtectedHeader({ alg: "ES256" })
  .setIssuer(ISSUER)
  .setAudience(AUDIENCE)
  .setExpirationTime("1h")
  .sign(privateKey);
const AUTH = { "router-authorization": ROUTER_SECRET, authorization: `Bearer ${token}`, "content-type": "application/json" };

const emulator = await startEmulatorProcess(50);
const emulatorCalls = async (): Promise<number> => {
  emulator.child.send("stats");
  const [stats] = (await once(emulator.child, "message")) as [{ calls: number }];
  return stats.calls;
};

async function startService(extraEnv: Record<string, string> = {}, log = SERVICE_LOG): Promise<{ child: ChildProcess; url: URL }> {
  const port = await freePort();
  const child = spawn(process.execPath, ["dist/index.js"], {
    env: {
      PATH: process.env["PATH"] ?? "",
      NODE_ENV: "production",
      PORT: String(port),
      HOST: "127.0.0.1",
      APPFABRIC_APP_BUNDLE: DEMO_APP_BUNDLE_ARN,
      APPFABRIC_ENDPOINT: emulator.url,
      AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
      ROUTER_SECRET,
      AUTH_JWT_PUBLIC_KEY: await exportSPKI(publicKey),
      AUTH_JWT_ISSUER: ISSUER,
      AUTH_JWT_AUDIENCE: AUDIENCE,
      REQUEST_TIMEOUT_MS: String(STALLED.requestTimeoutMs),
      ...extraEnv,
    },
    // Its log lines go to a file (their cost is part of the run); a crash still shows on stderr.
    stdio: ["ignore", openSync(log, "w"), "inherit"],
  });
  child.once("exit", (code, signal) => {
    if (code !== 0 && signal !== "SIGKILL" && signal !== "SIGTERM") console.error(`The service exited with ${code ?? signal}.`);
  });
  return { child, url: await healthy(new URL(`http://127.0.0.1:${port}/`)) };
}

/** Peak RSS (MB) of a process, sampled every 100 ms until stopped. */
function watchRss(pid: number) {
  let peak = 0;
  const sample = () => {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    peak = Math.max(peak, Number(match?.[1] ?? 0) / 1024);
  };
  sample();
  const timer = setInterval(sample, 100);
  return { stop: () => (clearInterval(timer), Math.round(peak)) };
}

/**
 * /health on a fresh connection every 50 ms, from a worker thread: the flood's own event loop is busy,
 * and a probe sharing it would measure the attacker, not the service.
 */
const PROBE = `
const { parentPort, workerData } = require("node:worker_threads");
const { get } = require("node:http");
const latencies = [];
let failures = 0;
let running = true;
parentPort.on("message", () => (running = false));
(async () => {
  while (running) {
    const started = performance.now();
    const ok = await new Promise((resolve) => {
      const request = get(workerData.url, { agent: false, timeout: 2000 }, (response) => {
        response.resume();
        response.on("end", () => resolve(response.statusCode === 200));
      });
      request.on("timeout", () => request.destroy());
      request.on("error", () => resolve(false));
    });
    if (ok) latencies.push(performance.now() - started);
    else failures += 1;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  parentPort.postMessage({ latencies, failures });
})();
`;

function probeHealth(url: URL) {
  const worker = new Worker(PROBE, { eval: true, workerData: { url: new URL("/health", url).href } });
  return {
    stop: async () => {
      worker.postMessage("stop");
      const [{ latencies, failures }] = (await once(worker, "message")) as [{ latencies: number[]; failures: number }];
      await worker.terminate();
      latencies.sort((a, b) => a - b);
      const at = (q: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN) * 10) / 10;
      return { probes: latencies.length + failures, failures, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
    },
  };
}

/**
 * GET on a connection of its own. The flood's pooled keep-alive connections may have been dropped by
 * the service at MAX_CONNECTIONS; a measurement must not fail on one of those.
 */
function getText(url: URL): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, timeout: 5_000 }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on("timeout", () => request.destroy(new Error("timeout")));
    request.on("error", reject);
  });
}

/** The service's event-loop delay since the last read (prom-client resets it on each scrape). */
async function eventLoopDelay(url: URL): Promise<{ p99Ms: number; maxMs: number }> {
  const { text } = await getText(new URL("/metrics", url));
  const read = (name: string) => Math.round(Number(new RegExp(`^${name} ([\\d.e+-]+)`, "m").exec(text)?.[1] ?? NaN) * 1000 * 10) / 10;
  return { p99Ms: read("nodejs_eventloop_lag_p99_seconds"), maxMs: read("nodejs_eventloop_lag_max_seconds") };
}

/** AppFabric call attempts the service started after `at` (epoch ms), from its "appfabric call" log lines, by status. */
function callStartsAfter(at: number): Record<string, number> {
  const late: Record<string, number> = {};
  for (const line of readFileSync(SERVICE_LOG, "utf8").split("\n")) {
    if (!line.includes('"msg":"appfabric call"')) continue;
    const call = JSON.parse(line) as { time: number; durationMs: number; status: number | string };
    if (call.time - call.durationMs > at) late[String(call.status)] = (late[String(call.status)] ?? 0) + 1;
  }
  return late;
}

/**
 * POSTs on a connection of its own and gives up after `giveUpMs` by closing it there and then: the
 * hang-up leaves with the give-up (fetch's abort settles the promise first and closes the socket
 * later, so "the client has gone" would be measured before the server could know it).
 * Resolves true when the answer came in time.
 */
function postGivingUp(url: URL, body: string, giveUpMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpRequest(url, { method: "POST", agent: false, headers: { ...AUTH, "content-length": Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on("end", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    const timer = setTimeout(() => {
      request.destroy();
      resolve(false);
    }, giveUpMs);
    request.on("error", () => {
      clearTimeout(timer);
      resolve(false);
    });
    request.end(body);
  });
}

async function runPool(count: number, concurrency: number, task: (n: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/**
 * Waits (at most 60 s) until the service answers /health on a fresh connection again: after a flood
 * it may still be working through requests whose callers have gone, holding their connections.
 */
async function quiet(url: URL): Promise<number> {
  const started = performance.now();
  for (let tries = 0; tries < 600; tries++) {
    const ok = await getText(new URL("/health", url)).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Math.round((performance.now() - started) / 100) / 10;
}

async function phase<T>(url: URL, pid: number, run: () => Promise<T>) {
  await quiet(url);
  await eventLoopDelay(url); // resets the histogram
  const rss = watchRss(pid);
  const health = probeHealth(url);
  const started = performance.now();
  const result = await run();
  const durationS = Math.round((performance.now() - started) / 100) / 10;
  // The event-loop figures cover the flood and the time the service took to answer /health again after it.
  const quietAfterS = await quiet(url);
  return { ...result, durationS, quietAfterS, eventLoop: await eventLoopDelay(url), health: await health.stop(), peakRssMb: rss.stop() };
}

function stalledUpload(url: URL): Promise<{ socket: Socket; closed: Promise<unknown>; accepted: () => boolean }> {
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    let answered = false;
    socket.on("data", () => (answered = true));
    socket.on("error", () => undefined);
    // Not events.once: it would reject on the resets that closing 2,000 sockets brings.
    const closed = new Promise((resolve) => socket.once("close", resolve));
    socket.once("connect", () => {
      socket.write(`POST / HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"query":`);
      resolve({ socket, closed, accepted: () => answered });
    });
    socket.once("error", () => resolve({ socket, closed, accepted: () => false }));
  });
}

const broken: string[] = [];
const children: ChildProcess[] = [emulator.child];
process.on("exit", () => children.forEach((child) => child.kill("SIGKILL")));
const service = await startService();
children.push(service.child);
const pid = service.child.pid ?? 0;

console.log(`1/4 Abandoned work: ${ABANDON.requests} requests of ${ABANDON.ids} ids, clients give up after ${ABANDON.giveUpMs} ms…`);
let lastAnswerCalls = 0;
const abandoned = await phase(service.url, pid, async () => {
  let gaveUp = 0;
  let answered = 0;
  await runPool(ABANDON.requests, ABANDON.concurrency, async (n) => {
    const ids = Array.from({ length: ABANDON.ids }, (_, i) => syntheticTaskId(n * ABANDON.ids + i));
    const body = JSON.stringify({ query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids } });
    if (await postGivingUp(service.url, body, ABANDON.giveUpMs)) answered += 1;
    else gaveUp += 1;
  });
  const lastAnswerAt = Date.now();
  lastAnswerCalls = await emulatorCalls();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  await quiet(service.url);
  // Two views. What reached AppFabric (the emulator counts calls as they arrive) is the promise. The
  // service's own call log (start = end - duration) also shows attempts it began in the instant
  // between a caller's hang-up and reading it, each cancelled before or while it was sent.
  const arrivedAfterLastAnswer = (await emulatorCalls()) - lastAnswerCalls;
  const lateByStatus = callStartsAfter(lastAnswerAt);
  const startedAfterLastAnswer = Object.values(lateByStatus).reduce((sum, count) => sum + count, 0);
  if (arrivedAfterLastAnswer > 0) broken.push(`${arrivedAfterLastAnswer} AppFabric calls arrived after the last client had its answer`);
  return { answered, gaveUp, appFabricCalls: lastAnswerCalls, startedAfterLastAnswer, lateByStatus, arrivedAfterLastAnswer, lastAnswerAt };
});

console.log(`2/4 Cost: ${COST.requests} requests listing one malformed id ${COST.listed} times…`);
const cost = await phase(service.url, pid, async () => {
  const body = JSON.stringify({ query: "query($ids: [ID!]!) { userAccessTasks(ids: $ids) { taskId } }", variables: { ids: Array(COST.listed).fill("x") } });
  const statuses = new Map<number | string, number>();
  let largestAnswer = 0;
  await runPool(COST.requests, COST.concurrency, async () => {
    try {
      const response = await fetch(service.url, { method: "POST", headers: AUTH, body });
      largestAnswer = Math.max(largestAnswer, (await response.text()).length);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
    } catch (error) {
      const code = String((error as { cause?: { code?: string } }).cause?.code ?? "fetch failed");
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
    }
  });
  if ([...statuses.keys()].some((status) => status !== 400)) broken.push(`cost flood answered ${JSON.stringify(Object.fromEntries(statuses))}, not only 400`);
  return { bodyKb: Math.round(body.length / 1024), statuses: Object.fromEntries(statuses), largestAnswerBytes: largestAnswer };
});
if (cost.health.failures > 0) broken.push(`/health failed ${cost.health.failures} times during the cost flood`);

console.log(`3/4 Stalled uploads: ${STALLED.connections} connections that stop mid-body…`);
const stalled = await phase(service.url, pid, async () => {
  const started = performance.now();
  const uploads = await Promise.all(Array.from({ length: STALLED.connections }, () => stalledUpload(service.url)));
  await Promise.race([Promise.all(uploads.map((upload) => upload.closed)), new Promise((resolve) => setTimeout(resolve, STALLED.requestTimeoutMs * 3))]);
  const open = uploads.filter((upload) => !upload.socket.destroyed).length;
  for (const upload of uploads) upload.socket.destroy();
  if (open > 0) broken.push(`${open} stalled uploads were still open after ${(STALLED.requestTimeoutMs * 3) / 1000} s`);
  return {
    answered408: uploads.filter((upload) => upload.accepted()).length,
    allClosedAfterS: Math.round((performance.now() - started) / 100) / 10,
    stillOpen: open,
  };
});

console.log(`4/4 Drain: SIGTERM with ${DRAIN.connections} stalled uploads open, SHUTDOWN_GRACE_MS=${DRAIN.graceMs}…`);
service.child.kill("SIGKILL");
const draining = await startService({ SHUTDOWN_GRACE_MS: String(DRAIN.graceMs), REQUEST_TIMEOUT_MS: "120000" }, "/dev/null");
children.push(draining.child);
await Promise.all(Array.from({ length: DRAIN.connections }, () => stalledUpload(draining.url)));
const stopStarted = performance.now();
const exited = once(draining.child, "exit");
draining.child.kill("SIGTERM");
const [exitCode] = (await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve([null]), DRAIN.graceMs + 10_000))])) as [number | null];
const drain = { exitCode, exitAfterS: Math.round((performance.now() - stopStarted) / 100) / 10 };
if (exitCode !== 0) broken.push(`SIGTERM with stalled uploads exited ${exitCode}`);
if (drain.exitAfterS > DRAIN.graceMs / 1000 + 1) broken.push(`SIGTERM took ${drain.exitAfterS} s against a ${DRAIN.graceMs / 1000} s grace`);
draining.child.kill("SIGKILL");
emulator.child.kill();

const report = { machine: `${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}`, abandoned, cost, stalled, drain, broken };
const row = (
  name: string,
  p: {
    quietAfterS: number;
    peakRssMb: number;
    eventLoop: { p99Ms: number; maxMs: number };
    health: { p50Ms: number; p99Ms: number; maxMs: number; failures: number; probes: number };
  },
) =>
  `| ${name} | ${p.peakRssMb} | ${p.eventLoop.p99Ms} / ${p.eventLoop.maxMs} | ${p.health.p50Ms} / ${p.health.p99Ms} / ${p.health.maxMs} | ${p.health.failures} of ${p.health.probes} | ${p.quietAfterS} |`;
const markdown = [
  `# npm run test:attack (${report.machine})`,
  "",
  "| flood | peak RSS (MB) | event-loop delay p99 / max (ms) | /health p50 / p99 / max (ms) | /health failures | /health answered again after (s) |",
  "|---|---|---|---|---|---|",
  row(`abandoned: ${ABANDON.requests} × ${ABANDON.ids} ids, clients give up at ${ABANDON.giveUpMs} ms (${abandoned.durationS} s)`, abandoned),
  row(`cost: ${COST.requests} × ${cost.bodyKb} KB listing one id ${COST.listed} times (${cost.durationS} s)`, cost),
  row(`stalled: ${STALLED.connections} uploads stopped mid-body (${stalled.durationS} s)`, stalled),
  "",
  `- Abandoned: ${abandoned.answered} answered, ${abandoned.gaveUp} gave up; ${abandoned.appFabricCalls} AppFabric calls in all; **${abandoned.arrivedAfterLastAnswer} reached AppFabric after the last client had its answer**; the service's call log shows ${abandoned.startedAfterLastAnswer} attempts begun after it (${JSON.stringify(abandoned.lateByStatus)}), each cancelled before it arrived.`,
  `- Cost: answers ${JSON.stringify(cost.statuses)}, the largest ${cost.largestAnswerBytes} bytes.`,
  `- Stalled: ${stalled.answered408} answered 408, all closed after ${stalled.allClosedAfterS} s (REQUEST_TIMEOUT_MS=${STALLED.requestTimeoutMs}), ${stalled.stillOpen} left open.`,
  `- Drain: SIGTERM with ${DRAIN.connections} stalled uploads open → exit ${drain.exitCode} after ${drain.exitAfterS} s (SHUTDOWN_GRACE_MS=${DRAIN.graceMs}).`,
  `- Verdict: ${broken.length === 0 ? "pass" : `FAIL: ${broken.join("; ")}`}`,
  "",
].join("\n");
writeFileSync("bench/results/attack.json", `${JSON.stringify(report, null, 2)}\n`);
writeFileSync("bench/results/attack.md", markdown);
console.log(markdown);
process.exit(broken.length === 0 ? 0 : 1);
