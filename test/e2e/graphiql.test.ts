import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEMO_TASKS } from "../../src/emulator/demoData.js";
import { startService, type RunningService } from "../../src/startService.js";
import { launchChromium, screenshot } from "../support/chromium.js";
import { metric } from "../support/subscriptions.js";
import { testConfig } from "../support/testConfig.js";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const BATCH_GETS = 'appfabric_calls_total{operation="BatchGetUserAccessTasks",status="200"}';

/** What the page asked for, over HTTP and WebSocket, and what it was refused. */
interface Traffic {
  requested: string[];
  blocked: string[];
  frames: string[];
  consoleErrors: string[];
}

/**
 * LANDING_PAGE=graphiql as `npm start` runs it (the embedded emulator, its demo ids), opened in
 * Chromium with every request that does not go to loopback refused: GraphiQL must need nothing but the
 * service.
 */
describe("GraphiQL (LANDING_PAGE=graphiql) in Chromium, offline", () => {
  let browser: Browser;
  let service: RunningService;
  let context: BrowserContext;
  let page: Page;
  let traffic: Traffic;

  beforeAll(async () => {
    service = await startService(testConfig({}, { LANDING_PAGE: "graphiql" }));
    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await service?.stop();
  });
  beforeEach(async (test) => {
    traffic = { requested: [], blocked: [], frames: [], consoleErrors: [] };
    // The previous test's context is closed here, not after it: its screenshot on failure comes after the test's own hooks.
    await context?.close();
    context = await browser.newContext();
    await context.route("**/*", async (route) => {
      const url = new URL(route.request().url());
      traffic.requested.push(url.href);
      if (LOOPBACK.has(url.hostname)) return route.continue();
      traffic.blocked.push(url.href);
      return route.abort("internetdisconnected");
    });
    page = await context.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") traffic.consoleErrors.push(message.text());
    });
    page.on("websocket", (socket) => {
      traffic.requested.push(socket.url());
      socket.on("framereceived", ({ payload }) => traffic.frames.push(String(payload)));
    });
    test.onTestFailed(() => screenshot(page, test.task.name));
  });

  /** Opens the page and waits until GraphiQL has the schema (its documentation explorer can be used). */
  async function openGraphiql(): Promise<void> {
    const introspected = page.waitForResponse((response) => response.request().method() === "POST" && response.ok());
    await page.goto(service.url.href);
    await introspected;
    await page.locator(".graphiql-execute-button").waitFor();
    // Monaco has the example in its model once the editor shows it, and GraphiQL has read its name.
    const editorText = async () => (await page.locator(".graphiql-query-editor").innerText()).replaceAll("\u00a0", " ");
    await expect.poll(editorText, { timeout: 20_000 }).toContain("query UserAccess");
    await expect.poll(() => page.locator(".graphiql-tab-button").first().innerText(), { timeout: 20_000 }).toBe("UserAccess");
  }

  it("opens on the example query with the demo ids and runs it in one AppFabric call, nothing loaded from outside", async () => {
    await openGraphiql();
    const callsBefore = await metric(service.url, BATCH_GETS);

    const answered = page.waitForResponse(
      (response) => response.request().method() === "POST" && (response.request().postData() ?? "").includes('"operationName":"UserAccess"'),
    );
    await page.locator(".graphiql-execute-button").click();
    const response = await answered;
    const sent = JSON.parse(response.request().postData() ?? "{}") as { variables: { id: string; ids: string[] } };
    const body = (await response.json()) as { data: { one: { taskId: string }; several: Array<{ taskId: string; app: string }> } };

    const demoIds = DEMO_TASKS.flatMap((task) => task.taskId ?? []);
    expect(sent.variables).toEqual({ id: demoIds[0], ids: demoIds });
    expect(body.data.one.taskId).toBe(demoIds[0]);
    expect(body.data.several.map((task) => task.taskId)).toEqual(demoIds);
    // Both fields shared one signed call, as the example's comment promises.
    expect(await metric(service.url, BATCH_GETS)).toBe(callsBefore + 1);
    // GraphiQL shows the answer, in its own (Monaco) response pane.
    await expect.poll(() => page.locator(".graphiql-response").innerText()).toContain(demoIds[0]);

    expect(traffic.blocked).toEqual([]);
    expect(traffic.requested.every((url) => LOOPBACK.has(new URL(url).hostname))).toBe(true);
    // Scripts, styles, Monaco's workers and its font all came from the service itself.
    expect(traffic.requested.some((url) => /\/graphiql\/editor\.worker-[\w-]+\.js$/.test(url))).toBe(true);
    expect(traffic.consoleErrors).toEqual([]);
    await screenshot(page, "graphiql");
  });

  it("runs a subscription over the service's WebSocket, on the same port", async () => {
    await openGraphiql();
    const demoIds = DEMO_TASKS.flatMap((task) => task.taskId ?? []);
    const editor = page.locator(".graphiql-query-editor .monaco-editor").first();
    await editor.click();
    await page.keyboard.press("ControlOrMeta+A");
    await page.keyboard.insertText("subscription Watch($ids: [ID!]!) { userAccessTasksUpdated(ids: $ids) { taskId resultStatus } }");
    // GraphiQL reads the operation's name from the editor a moment after a change (debounced) and
    // keeps the text in localStorage at the same time: run it only once that has happened.
    await expect.poll(() => page.evaluate(() => localStorage.getItem("graphiql:query"))).toContain("subscription Watch");
    await page.locator(".graphiql-execute-button").click();

    await expect.poll(() => traffic.frames.find((frame) => frame.includes('"type":"next"')), { timeout: 10_000 }).toBeDefined();
    const next = JSON.parse(traffic.frames.find((frame) => frame.includes('"type":"next"')) ?? "{}") as {
      payload: { data: { userAccessTasksUpdated: Array<{ taskId: string }> } };
    };
    expect(next.payload.data.userAccessTasksUpdated.map((task) => task.taskId)).toEqual(demoIds);
    const socket = traffic.requested.find((url) => url.startsWith("ws:"));
    expect(socket === undefined ? undefined : new URL(socket).host).toBe(service.url.host);
    // GraphiQL shows the event; one demo task stays IN_PROGRESS, so the subscription stays open.
    await expect.poll(() => page.locator(".graphiql-response").innerText()).toContain("userAccessTasksUpdated");
    expect(await metric(service.url, "graphql_subscriptions_active")).toBe(1);
    expect(traffic.blocked).toEqual([]);
    expect(traffic.consoleErrors).toEqual([]);
  });
});
