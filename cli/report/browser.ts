/// <reference lib="dom" />
/**
 * Opens a report page in Debian's headless Chromium (`/usr/bin/chromium`, driven by playwright-core, which
 * downloads no browser of its own), for the report's browser test and the README screenshot.
 *
 * The flags keep Chromium off the network (this machine has none, and the page needs none): no background
 * networking, component updates, sync or QUIC; a fresh profile each time; no sandbox, since CI runs as root.
 * Every request the page makes is recorded, so a test can prove it loads nothing but itself.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where Debian's chromium package puts the browser (`.ci/run` installs it when missing). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface OpenedReport {
  readonly page: Page;
  /** Console errors and uncaught exceptions, in order. */
  readonly errors: string[];
  /** URLs of every request the page made, the page itself included. */
  readonly requests: string[];
  close(): Promise<void>;
}

/** Loads `file` and waits until its script has drawn every chart. */
export async function openReport(file: string, viewport = { width: 1200, height: 900 }): Promise<OpenedReport> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's package (apt-get install chromium), as .ci/run does, or set CHROMIUM_PATH`,
    );
  }
  const profile = mkdtempSync(path.join(tmpdir(), 'trailsight-chromium-'));
  let browser: BrowserContext | undefined;
  try {
    // A persistent context on a fresh, empty profile directory (Playwright's form of --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: FLAGS, viewport });
    const page = browser.pages()[0] ?? (await browser.newPage());
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(path.resolve(file)).href);
    await page.waitForFunction(
      () => (window as unknown as { reportChartsReady?: boolean }).reportChartsReady === true,
      undefined,
      {
        timeout: 20_000,
      },
    );
    const opened = browser;
    return {
      page,
      errors,
      requests,
      close: async () => {
        await opened.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
}
