import { mkdtemp, readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { launchChromium, screenshot } from "../support/chromium.js";
import { startHarness, type Harness } from "../support/harness.js";
import { metric } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";

const WEB_ROOT = new URL("../../examples/web/", import.meta.url).pathname;
const TYPES: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

/** Serves the built page, as any static host would. */
async function serveStatic(root: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://page.invalid").pathname;
    const file = join(root, path === "/" ? "index.html" : path);
    readFile(file).then(
      (body) => response.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

describe("the example page in Chromium", () => {
  const metricValue = (line: string) => metric(harness.service.url, line);
  let page: Page;
  let browser: Browser;
  let harness: Harness;
  let site: Server;
  let pageUrl: string;

  beforeAll(async () => {
    const outDir = await mkdtemp(join(tmpdir(), "web-"));
    await build({ root: WEB_ROOT, logLevel: "warn", build: { outDir, emptyOutDir: true } });
    site = await serveStatic(outDir);
    const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    // Tasks end 1 to 4 units after they start: 300 ms units make the journey take about a second.
    harness = await startHarness({ emulator: { taskProgressMs: 300, tasks: DEMO_TASKS }, config: { corsOrigins: [origin] } });
    pageUrl = `${origin}/?api=${encodeURIComponent(harness.service.url.href)}`;
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await harness?.close();
    await new Promise((resolve) => site?.close(resolve));
  });
  beforeEach(async (context) => {
    harness.emulator.reset();
    page = await browser.newPage();
    // A screenshot of the page when a test fails, for whoever reads the CI log.
    context.onTestFailed(() => screenshot(page, context.task.name));
  });

  it("starts a lookup for an email and watches it over the subscription until every task is final, as the emulator started them", async () => {
    const operationsBefore = await metricValue('graphql_operations_total{operation_name="(other)",outcome="ok"}');
    await page.goto(pageUrl);
    await page.getByTestId("email").fill("casey.morgan@example.com");
    await page.getByTestId("start").click();

    const rows = page.getByTestId("task-row");
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(6);
    await expect
      .poll(() => rows.evaluateAll((elements) => elements.every((row) => row.getAttribute("data-status") !== "IN_PROGRESS")), { timeout: 20_000 })
      .toBe(true);

    const shown = await rows.evaluateAll((elements) =>
      elements.map((row) => ({ app: row.getAttribute("data-app"), taskId: row.getAttribute("data-task-id"), status: row.getAttribute("data-status") })),
    );
    const started = harness.emulator.startedTasks;
    expect(shown.filter((row) => row.taskId)).toEqual(started.map((task) => ({ app: task.app, taskId: task.taskId, status: task.finalStatus })));
    expect(shown.find((row) => !row.taskId)).toEqual({ app: "Jira", taskId: "", status: "NOT_STARTED" });
    await expect.poll(() => page.getByTestId("progress").textContent()).toMatch(/^All apps have answered\./);
    await expect.poll(() => page.locator("tr[data-app='Slack']").textContent()).toContain("Casey Morgan");
    // Live updates over the WebSocket, not polling: no userAccessTasks query reached the service.
    expect(await page.getByTestId("transport").getAttribute("data-transport")).toBe("subscription");
    expect(await metricValue('graphql_subscriptions_total{outcome="completed"}')).toBeGreaterThanOrEqual(1);
    expect(await metricValue('graphql_operations_total{operation_name="(other)",outcome="ok"}')).toBe(operationsBefore + 1); // the start only

    // The subscription completed once every task was final: no more calls come in.
    const calls = harness.emulator.calls.length;
    await page.waitForTimeout(2_500);
    expect(harness.emulator.calls.length).toBe(calls);

    await screenshot(page, "web-journey");
  });

  it("falls back to polling when the WebSocket cannot be opened (a proxy that drops WebSockets), and still finishes", async () => {
    // Every WebSocket the page opens is refused, as by a proxy that does not pass upgrades on.
    await page.routeWebSocket(/.*/, (socket) => socket.close({ code: 1011, reason: "WebSockets are not allowed here" }));
    const subscriptionsBefore = await metricValue("graphql_subscriptions_active");
    await page.goto(pageUrl);
    await page.getByTestId("email").fill("casey.morgan@example.com");
    await page.getByTestId("start").click();

    await expect.poll(() => page.getByTestId("transport").getAttribute("data-transport"), { timeout: 10_000 }).toBe("polling");
    await expect.poll(() => page.getByTestId("progress").textContent(), { timeout: 20_000 }).toMatch(/^All apps have answered\./);
    const shown = await page
      .getByTestId("task-row")
      .evaluateAll((elements) =>
        elements.flatMap((row) =>
          row.getAttribute("data-task-id") ? [{ taskId: row.getAttribute("data-task-id"), status: row.getAttribute("data-status") }] : [],
        ),
      );
    const started = new Map(harness.emulator.startedTasks.map((task) => [task.taskId, task.finalStatus]));
    expect(shown.length).toBe(5);
    expect(shown.every((row) => started.get(row.taskId ?? "") === row.status)).toBe(true);
    // The answers came from polling userAccessTasks over HTTP, no error notice shown for the lost socket.
    expect(harness.emulator.calls.filter((call) => call.operation === "BatchGetUserAccessTasks").length).toBeGreaterThan(1);
    expect(await page.getByTestId("poll-error").count()).toBe(0);
    expect(await metricValue("graphql_subscriptions_active")).toBe(subscriptionsBefore);
  });

  it("tries a throttled start again by itself, after the wait AppFabric asked for, and then shows the lookup", async () => {
    // Throttled three times: the service's own attempts all fail, so the page sees THROTTLED once.
    harness.emulator.injectFault({
      fault: { kind: "error", status: 429, errorType: "ThrottlingException", retryAfter: "1" },
      when: (call) => call.taskIdList.length === 0,
      times: 3,
    });
    await page.goto(pageUrl);
    await page.getByTestId("email").fill("casey.morgan@example.com");
    await page.getByTestId("start").click();

    await expect.poll(() => page.getByTestId("start-error").textContent(), { timeout: 15_000 }).toBe("AppFabric is busy. Trying again in 1 s…");
    await expect.poll(() => page.getByTestId("task-row").count(), { timeout: 15_000 }).toBe(6);
    const starts = harness.emulator.calls.filter((call) => call.operation === "StartUserAccessTasks").map((call) => call.status);
    expect(starts).toEqual([429, 429, 429, 201]);
  });

  it("tells a service that is not running from one that refuses this page's origin", async () => {
    await page.goto(`${pageUrl.split("?")[0] ?? ""}?api=${encodeURIComponent("http://127.0.0.1:9/")}`);
    await page.getByTestId("email").fill("casey.morgan@example.com");
    await page.getByTestId("start").click();
    await expect.poll(() => page.getByTestId("start-error").textContent(), { timeout: 10_000 }).toBe("The service could not be reached. Is it running?");

    const noCors = await startHarness({ config: { corsOrigins: ["http://localhost:5173"] } });
    try {
      await page.goto(`${pageUrl.split("?")[0] ?? ""}?api=${encodeURIComponent(noCors.service.url.href)}`);
      await page.getByTestId("email").fill("casey.morgan@example.com");
      await page.getByTestId("start").click();
      await expect
        .poll(() => page.getByTestId("start-error").textContent(), { timeout: 10_000 })
        .toMatch(/^The service is running but does not accept requests from this page \(http:\/\/127\.0\.0\.1:\d+\)/);
      // The refused start never reached AppFabric.
      expect(noCors.emulator.calls).toEqual([]);
    } finally {
      await noCors.close();
    }
  });

  it("runs the same journey where the service runs only the page's own documents (PERSISTED_DOCUMENTS=require), and refuses any other", async () => {
    // The manifest the page's build makes (codegen.yml: the client preset's persistedDocuments).
    const manifest = new URL("../../examples/web/src/__generated__/persisted-documents.json", import.meta.url).pathname;
    const origin = new URL(pageUrl).origin;
    const { trustedDocuments } = testConfig({}, { PERSISTED_DOCUMENTS: "require", PERSISTED_DOCUMENTS_MANIFEST: manifest });
    const trusted = await startHarness({ emulator: { taskProgressMs: 300, tasks: DEMO_TASKS }, config: { corsOrigins: [origin], trustedDocuments } });
    try {
      await page.goto(`${pageUrl.split("?")[0] ?? ""}?api=${encodeURIComponent(trusted.service.url.href)}`);
      await page.getByTestId("email").fill("casey.morgan@example.com");
      await page.getByTestId("start").click();
      const rows = page.getByTestId("task-row");
      await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(6);
      await expect.poll(() => page.getByTestId("progress").textContent(), { timeout: 20_000 }).toMatch(/^All apps have answered\./);
      expect(await page.getByTestId("transport").getAttribute("data-transport")).toBe("subscription");
      expect(trusted.emulator.startedTasks.length).toBe(5);

      // Any other document, from the same page and origin, is refused before it is parsed.
      const refused = await page.evaluate(async (url) => {
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "{ userAccessTasks(ids: []) { taskId userEmail } }" }),
        });
        return { status: response.status, body: (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> } };
      }, trusted.service.url.href);
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]?.extensions?.code).toBe("PERSISTED_QUERY_NOT_IN_LIST");
      expect(await metric(trusted.service.url, 'http_requests_refused_total{reason="untrusted_document"}')).toBe(1);
    } finally {
      await trusted.close();
    }
  });

  it("says in plain words what went wrong, from extensions.code", async () => {
    harness.emulator.injectFault({ fault: { kind: "error", status: 403, errorType: "AccessDeniedException" } });
    await page.goto(pageUrl);
    await page.getByTestId("email").fill("casey.morgan@example.com");
    await page.getByTestId("start").click();

    await expect
      .poll(() => page.getByTestId("start-error").textContent(), { timeout: 10_000 })
      .toBe("This service may not read AppFabric. Ask an administrator to check its permissions.");
  });
});
