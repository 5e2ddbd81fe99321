/**
 * The dashboard in headless Chromium against the whole stack with the traffic simulator running:
 * the overview, pipeline and alerts pages render live data (the pipeline page its schema drift), and a record the transformer's
 * `validate` step dead-lettered lands in the warehouse after the schema is fixed, the transformer
 * restarted, and the record replayed from the DLQ console; a record refused at ingest is grouped by
 * cause, edited, previewed and replayed from the console's fix panel, which says where it went.
 *
 * Screenshots go to a temp folder; `TRIBUTARY_SCREENSHOTS=docs/screenshots` writes the README's.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium, waitFor } from '@tributary/testkit';
import type { Browser, Page } from 'playwright-core';
import type { Stack } from './stack';
import { startStack } from './start-stack';

jest.setTimeout(180_000);

const ROOT = path.resolve(__dirname, '../..');
const TOKEN = 'e2e-admin-token-0123456789';
const SHOTS = process.env.TRIBUTARY_SCREENSHOTS
  ? path.resolve(ROOT, process.env.TRIBUTARY_SCREENSHOTS)
  : mkdtempSync(path.join(tmpdir(), 'trib-shots-'));

/** The passage schema with `passengers` capped at `max`: the dataset's validate step uses it. */
function strictSchema(max: number): string {
  const s = JSON.parse(readFileSync(path.join(ROOT, 'pipelines/schemas/passage.json'), 'utf8'));
  s.title = 'Gantry passage (policy)';
  s.properties.passengers = { type: 'integer', minimum: 0, maximum: max };
  return JSON.stringify(s, null, 2);
}

/** A copy of the traffic pipeline whose validate step applies a stricter schema than ingest. */
function writePipeline(dir: string): void {
  mkdirSync(path.join(dir, 'schemas'), { recursive: true });
  copyFileSync(path.join(ROOT, 'pipelines/schemas/passage.json'), path.join(dir, 'schemas/passage.json'));
  writeFileSync(path.join(dir, 'schemas/passage-policy.json'), strictSchema(5));
  const yaml = readFileSync(path.join(ROOT, 'pipelines/traffic.yaml'), 'utf8')
    .replace('rate: 200/s', 'rate: 40/s')
    .replace('- validate: { schema: schemas/passage.json }', '- validate: { schema: schemas/passage-policy.json }');
  if (!yaml.includes('passage-policy.json')) throw new Error('pipelines/traffic.yaml changed shape: update this test');
  writeFileSync(path.join(dir, 'traffic.yaml'), yaml);
}

/**
 * Visible form controls, buttons and links without an accessible name (a label, aria-label or
 * text). Runs in the page, so it is a string: the tests' TypeScript has no DOM types.
 */
const UNLABELLED = `[...document.querySelectorAll('input, select, button, a')]
  .filter((el) => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.textContent.trim()) && el.offsetParent !== null)
  .map((el) => el.outerHTML.slice(0, 120))`;

describe('dashboard', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trib-dash-'));
    writePipeline(dir);
    mkdirSync(SHOTS, { recursive: true });
    [stack, browser] = await Promise.all([
      startStack({
        pipelines: dir,
        env: {
          INGEST_GENERATORS: 'true',
          MONITOR_ADMIN_TOKEN: TOKEN,
          MONITOR_REFRESH: '500ms',
          MONITOR_LIVE_INTERVAL: '1s',
          MONITOR_ALERT_INTERVAL: '500ms',
          MONITOR_ALERT_FOR: '1s',
          // Any dead letter raises the DLQ-growth alert, so the alerts page has something to show.
          MONITOR_ALERT_DLQ_GROWTH: '0',
        },
      }),
      launchChromium(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => void d.accept());
    // Long enough for `scripts/setup --test-tools` to install Chromium on a fresh machine.
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows every pipeline as a live flow with records/s, freshness, lag and the service replicas', async () => {
    await page.goto(stack.url('monitor'));
    await page.locator('.pipeline-card h2', { hasText: 'traffic' }).waitFor();
    // An animated edge means the rates computed from two snapshots are above zero: live data.
    await page.locator('.flow .edge.active').first().waitFor({ timeout: 30_000 });
    await expect(page.locator('.flow .node.table .name').textContent()).resolves.toBe('fact_passage');
    await expect(page.locator('.pipeline-card .badge.ok', { hasText: 'Fresh' }).count()).resolves.toBe(1);
    for (const service of ['ingest-api', 'transformer', 'loader', 'monitor']) {
      await page.locator('tbody th', { hasText: service }).waitFor();
    }
    // Heartbeats arrive every few seconds; under load one may be a beat behind when the row appears.
    await waitFor(async () => ((await page.locator('.state-dot.live').count()) >= 4 ? true : undefined), {
      timeoutMs: 30_000,
      what: 'all four services shown live',
    });
    await page.locator('#live', { hasText: 'Live' }).waitFor();
    // The NATS panel: one server, healthy, every stream's single copy current on it.
    await page.locator('.cluster .badge.ok', { hasText: 'Healthy' }).waitFor();
    await expect(page.locator('.cluster tbody th', { hasText: 'TRIB_RAW' }).count()).resolves.toBe(1);
    expect(await page.evaluate(UNLABELLED)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'overview.png'), fullPage: true });

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
    await phone.goto(stack.url('monitor'));
    await phone.locator('.flow .edge.active').first().waitFor({ timeout: 30_000 });
    // Nothing but the flow's own scroller may be wider than the phone.
    const overflow = await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SHOTS, 'overview-phone.png') });
    await phone.close();
  });

  it('opens the pipeline page without a reload and charts throughput and latency with recent loads', async () => {
    await page.evaluate('window.marker = 42');
    await page.locator('.pipeline-card h2 a', { hasText: 'traffic' }).click();
    await page.waitForURL(/\/pipelines\/traffic$/);
    // Same document: client-side navigation kept the marker.
    await expect(page.evaluate('window.marker')).resolves.toBe(42);
    await page.locator('h1', { hasText: 'traffic' }).waitFor();
    await expect(page.locator('.chart canvas').count()).resolves.toBe(2);
    await page.locator('section[aria-labelledby="h-loads"] tbody tr').first().waitFor({ timeout: 30_000 });
    // Per table, what the loaded records did (docs/warehouse.md, Load counts): new passages are inserted rows.
    const counts = page.locator('section[aria-labelledby="h-tables"] tbody tr', { hasText: 'fact_passage' });
    await expect(counts.locator('td').nth(3).textContent()).resolves.toMatch(/^[1-9][\d,]*$/);
    await page.locator('.u-legend').first().waitFor();
    // The charts have points: some bucket of the throughput series is above zero.
    await waitFor(
      async () => {
        const r = await fetch(`${stack.url('monitor')}/api/pipelines/traffic/series?minutes=5`);
        const s = (await r.json()) as { loaded: number[] };
        return s.loaded.some((v) => v > 0);
      },
      { timeoutMs: 30_000, what: 'loaded records in the series' },
    );
    // The last five minutes, which is all this stack has lived.
    await Promise.all([
      page.waitForResponse((r) => r.url().includes('/series?minutes=5') && r.ok()),
      page.getByRole('button', { name: '5 m', exact: true }).click(),
    ]);
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    await page.screenshot({ path: path.join(SHOTS, 'pipeline.png'), fullPage: true });
  });

  it('shows schema drift on the pipeline page: a pushed passage with a field the dataset does not declare', async () => {
    // The passage schema allows more properties; the dataset declares no `axles`: a new field,
    // left out and reported under the default on_drift (docs/transforms.md, Schema drift).
    const truck = { event_id: 'truck-0001', gantry_id: 'G009', plate: 'TRK1', speed_mph: 50, lane: 2, passengers: 1, axles: 5 };
    const pushed = await stack.push('gantry', JSON.stringify({ ...truck, observed_at: new Date().toISOString() }));
    expect(pushed.status).toBe(202);
    await page.goto(`${stack.url('monitor')}/pipelines/traffic`);
    const row = page.locator('section[aria-labelledby="h-drift"] tbody tr', { hasText: 'axles' });
    await row.waitFor({ timeout: 30_000 });
    await expect(row.locator('td').nth(0).textContent()).resolves.toContain('passages');
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe('new (number)');
    await expect(row.locator('td').nth(4).textContent()).resolves.toContain('value left out');
    await expect(row.locator('td').nth(5).textContent()).resolves.toMatch(/^[1-9]/);
    expect(await page.evaluate(UNLABELLED)).toEqual([]);
  });

  it('replays a record rejected by the validate step, after the schema fix, into the warehouse', async () => {
    const bus = {
      event_id: 'bus-0001',
      gantry_id: 'G007',
      plate: 'BUS42',
      speed_mph: 38,
      lane: 1,
      passengers: 8,
      observed_at: new Date().toISOString(),
    };
    const pushed = await stack.push('gantry', JSON.stringify(bus));
    expect(pushed.status).toBe(202);
    expect(pushed.json.accepted).toBe(1);

    const seq = await waitFor(
      async () => {
        const r = await fetch(`${stack.url('monitor')}/api/dlq?pipeline=traffic&stage=transform&q=bus-0001`);
        const body = (await r.json()) as { dead_letters: { seq: number; error: { code: string } }[] };
        return body.dead_letters[0]?.seq;
      },
      { timeoutMs: 30_000, what: 'the dead letter of bus-0001' },
    );

    // The fix: the policy allowed at most 5 passengers; buses carry more. Restart the transformer.
    writeFileSync(path.join(dir, 'schemas/passage-policy.json'), strictSchema(9));
    await stack.stop('transformer');
    await stack.startService('transformer');

    await page.goto(`${stack.url('monitor')}/dlq?pipeline=traffic&stage=transform`);
    const row = page.locator(`tr[data-seq="${seq}"]`);
    await row.waitFor();
    await expect(row.locator('td.msg strong').textContent()).resolves.toBe('TRIB_E_VALIDATION');
    await row.locator('summary').click();
    await expect(row.locator('pre').textContent()).resolves.toContain('bus-0001');
    await page.screenshot({ path: path.join(SHOTS, 'dlq.png'), fullPage: true });

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByLabel('Your name').fill('e2e operator');
    await page.getByLabel('Your name').press('Tab');
    await row.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Replay selected (1)' }).click();
    await page.locator('[role="status"].notice.ok', { hasText: 'Replayed 1 of 1' }).waitFor();

    const [loaded] = await waitFor(
      async () => {
        const rows = await stack.query('SELECT event_id, passengers, _msg_id FROM warehouse.fact_passage WHERE event_id = $1', [
          'bus-0001',
        ]);
        return rows.length > 0 ? rows : undefined;
      },
      { timeoutMs: 30_000, what: 'bus-0001 in warehouse.fact_passage' },
    );
    expect(loaded.passengers).toBe('8');
    expect(loaded._msg_id).toBe(`replay:${seq}:passages`);

    // The audit trail names who did it; the dead letter is now listed as replayed.
    await page.locator('section[aria-labelledby="h-audit"] tbody tr', { hasText: 'e2e operator' }).waitFor();
    const dl = (await (await fetch(`${stack.url('monitor')}/api/dlq/${seq}`)).json()) as { dead_letter: { status: string } };
    expect(dl.dead_letter.status).toBe('replayed');
    await page.screenshot({ path: path.join(SHOTS, 'dlq-replayed.png'), fullPage: true });
  });

  it('groups a bad record by cause, edits it, previews it and replays it, showing where it went', async () => {
    const bad = {
      event_id: 'lane0-0001',
      gantry_id: 'G008',
      plate: 'LANE0',
      speed_mph: 44,
      lane: 0,
      passengers: 1,
      observed_at: new Date().toISOString(),
    };
    expect((await stack.push('gantry', JSON.stringify(bad))).json.rejected).toBe(1);
    const seq = await waitFor(
      async () => {
        const r = await fetch(`${stack.url('monitor')}/api/dlq?pipeline=traffic&stage=ingest&q=lane0-0001`);
        return ((await r.json()) as { dead_letters: { seq: number }[] }).dead_letters[0]?.seq;
      },
      { timeoutMs: 30_000, what: 'the dead letter of lane0-0001' },
    );
    await page.goto(`${stack.url('monitor')}/dlq?pipeline=traffic&stage=ingest&q=lane0-0001`);
    // By cause: the ingest group of the field "lane", with totals.
    const group = page.locator('table.dlq-groups tbody tr', { hasText: 'lane' });
    await group.waitFor();
    await expect(group.locator('td').nth(1).textContent()).resolves.toBe('TRIB_E_VALIDATION');
    await expect(page.locator('[data-key="dlq-totals"]').textContent()).resolves.toMatch(/\d+ open · \d+ replayed/);

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByLabel('Your name').fill('e2e operator');
    await page.getByLabel('Your name').press('Tab');
    await page.locator(`tr[data-seq="${seq}"]`).getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Fix selected (1)' }).click();
    const text = page.locator('textarea[name="text"]');
    await expect(text.inputValue()).resolves.toContain('"lane0-0001"');
    // Beside the editor, what the record must satisfy: the source schema's rule for lane.
    await expect(page.locator('details.hints li', { hasText: 'lane' }).textContent()).resolves.toContain('"minimum":1');
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('[data-key="preview-summary"].notice.bad', { hasText: '0 would load' }).waitFor();
    await text.fill(JSON.stringify({ ...bad, lane: 2 }, null, 2));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.locator('[data-key="preview-summary"].notice.ok', { hasText: '1 would load' }).waitFor();
    await expect(page.locator('ul.preview li').first().textContent()).resolves.toContain('would load into fact_passage');
    expect(await page.evaluate(UNLABELLED)).toEqual([]);
    await page.screenshot({ path: path.join(SHOTS, 'dlq-fix.png'), fullPage: true });

    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.locator('[data-key="replay-summary"].notice.ok', { hasText: 'Replayed 1 of 1' }).waitFor({ timeout: 20_000 });
    await expect(page.locator('ul.preview li').first().textContent()).resolves.toBe(`#${seq} loaded into fact_passage (1)`);
    const rows = await stack.query('SELECT lane FROM warehouse.fact_passage WHERE event_id = $1', ['lane0-0001']);
    expect(rows.map((r) => Number(r.lane))).toEqual([2]);
    await page.locator('section[aria-labelledby="h-audit"] tbody tr', { hasText: 'edited' }).first().waitFor();
  });

  it('refuses DLQ actions without the admin token', async () => {
    const r = await fetch(`${stack.url('monitor')}/api/dlq/discard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer wrong-token-wrong-token' },
      body: JSON.stringify({ seqs: [1] }),
    });
    expect(r.status).toBe(401);
  });

  it('lists the DLQ-growth alert the dead letter raised on the alerts page', async () => {
    await page.goto(`${stack.url('monitor')}/alerts`);
    await page
      .locator('section[aria-labelledby="h-history"] tbody tr', { hasText: 'TributaryDlqGrowth' })
      .first()
      .waitFor({ timeout: 30_000 });
    await page.screenshot({ path: path.join(SHOTS, 'alerts.png'), fullPage: true });
  });

  it('the loader logs its lifecycle at info, one line each with the pipeline: what it loads (none blocked), and that it stopped', async () => {
    const loader = stack.procs.get('loader')!;
    const logPath = loader.logPath;
    await stack.stop('loader');
    const info = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map(
        (l) =>
          JSON.parse(l) as {
            level: number | string;
            msg: string;
            pipeline?: string;
            pipelines?: string[];
            tables?: string[];
            blocked?: string[];
          },
      )
      .filter((l) => l.level === 30 || l.level === 'info');
    const loading = info.filter((l) => l.msg.startsWith('pipeline traffic: loading'));
    expect(loading.map((l) => [l.msg, l.pipeline, l.tables, l.blocked])).toEqual([
      ['pipeline traffic: loading 1 table(s)', 'traffic', ['fact_passage'], []],
    ]);
    expect(info.filter((l) => l.msg.startsWith('loader stopped consuming')).map((l) => l.pipelines)).toEqual([['traffic']]);
  });
});
