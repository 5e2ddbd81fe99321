/**
 * Headless Chromium for the dashboard tests and the report bench: Debian's `chromium` driven by
 * playwright-core (no browser download; the library is loaded only when a browser is launched).
 * When it is missing, `scripts/setup --test-tools` installs it (as root, or with sudo), so a fresh
 * CI machine gets it; otherwise the caller fails saying what to run.
 */
import type { Browser, BrowserServer } from 'playwright-core';
import { ensureTestTool } from './test-tools';

/** Where Debian puts Chromium. */
export const CHROMIUM = '/usr/bin/chromium';

/** Flags that keep a headless Chromium quiet, offline and working as root in a container. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Launches headless Chromium. */
export async function launchChromium(): Promise<Browser> {
  ensureTestTool(CHROMIUM);
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

/** Launches headless Chromium as a server (its `process()` gives the pid, e.g. to read its CPU time); connect with `chromium.connect`. */
export async function launchChromiumServer(): Promise<BrowserServer> {
  ensureTestTool(CHROMIUM);
  const { chromium } = await import('playwright-core');
  return chromium.launchServer({ executablePath: CHROMIUM, args: ARGS, headless: true });
}
