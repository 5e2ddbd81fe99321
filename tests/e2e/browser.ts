/**
 * Headless Chromium for the dashboard tests: Debian's `chromium` driven by playwright-core (no
 * browser download). When it is missing, `scripts/setup --test-tools` installs it (as root, or
 * with sudo), so a fresh CI machine gets it; otherwise the test fails saying what to run.
 */
import { chromium, type Browser } from 'playwright-core';
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
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}
