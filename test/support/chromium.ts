import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

/** Debian's Chromium (`.ci/run` installs it); no browser is downloaded. */
const CHROMIUM = "/usr/bin/chromium";
/** Where a browser test's screenshots go, for whoever reads the CI log. */
export const RESULTS = new URL("../../test-results/", import.meta.url).pathname;

/**
 * Headless Chromium as this machine runs it: as root (no sandbox), and without the background
 * networking that this closed network would refuse at every start.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`No Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium), as .ci/run does.`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A screenshot of the page under test's name, in test-results/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(RESULTS, { recursive: true });
  await page.screenshot({ path: join(RESULTS, `${name.replaceAll(/\W+/g, "-")}.png`), fullPage: true });
}
