/**
 * The pipeline page's Pause and Resume buttons in headless Chromium against the whole stack: a
 * click on Pause pauses the pipeline (the API says so and who did it), records pushed meanwhile
 * are accepted and wait in the raw stream (nothing loaded, nothing transformed); a click on
 * Resume lets them land.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, waitFor } from '@tributary/testkit';
import { expected, ndjson } from './passages';
import { Stack } from './stack';

jest.setTimeout(180_000);
const TOKEN = 'e2e-pause-admin-token-0123';

describe('pipeline page: pause and resume', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    [stack, browser] = await Promise.all([
      Stack.start({ env: { MONITOR_ADMIN_TOKEN: TOKEN, TRANSFORMER_PAUSE_POLL: '250ms', MONITOR_LIVE_INTERVAL: '500ms' } }),
      launchChromium(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    // The admin token, as the Dead letters page stores it for the tab.
    await page.addInitScript({
      content: `sessionStorage.setItem('tributary.adminToken', ${JSON.stringify(TOKEN)}); sessionStorage.setItem('tributary.actor', 'pause tester');`,
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stopAll();
  });

  const loaded = async (): Promise<number> => Number((await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage'))[0]!.n);

  it('pauses on a click (pushed records wait), and resumes on another (they land)', async () => {
    expect((await stack.push('gantry', ndjson(0, 10))).status).toBe(202);
    await waitFor(async () => (await loaded()) === expected(10).loaded, { timeoutMs: 60_000, what: 'the first records loaded' });

    await page.goto(`${stack.url('monitor')}/pipelines/traffic`);
    const state = page.locator('[data-key="pause-state"]');
    await state.filter({ hasText: 'Running' }).waitFor({ timeout: 30_000 });
    await page.locator('[data-key="pause-button"]', { hasText: 'Pause' }).click();
    await state.filter({ hasText: 'paused by pause tester' }).waitFor({ timeout: 15_000 });
    expect((await stack.status()).paused).toMatchObject({ by: 'pause tester', summary: 'paused by pause tester' });

    // Accepted while paused, and held: nothing loaded or transformed, the transformer's lag grows.
    await new Promise((r) => setTimeout(r, 1_000)); // every transformer has read the pause
    expect((await stack.push('gantry', ndjson(10, 20))).status).toBe(202);
    await waitFor(async () => ((await stack.status()).lag.transformer.pending ?? 0) > 0, { timeoutMs: 15_000, what: 'records waiting' });
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await loaded()).toBe(expected(10).loaded);
    const s = await stack.status();
    expect(s.dead_lettered.transform + s.dead_lettered.load).toBe(0);

    await page.locator('[data-key="pause-button"]', { hasText: 'Resume' }).click();
    await state.filter({ hasText: 'Running' }).waitFor({ timeout: 15_000 });
    expect((await stack.status()).paused).toBeNull();
    await waitFor(async () => (await loaded()) === expected(30).loaded, {
      timeoutMs: 60_000,
      what: 'the held records loaded after resume',
    });
  });
});
