/**
 * Reports in headless Chromium against the whole stack: every shipped report renders over
 * generated data (traffic, payments and sales pushed through the pipelines; forecast and events
 * rows written into their tables, their REST sources being unreachable here) and shows what
 * independently written SQL finds; a load committed while a page is open updates its tile;
 * inputs change results; injection through every input kind fails safely; a broken report shows
 * its errors and comes back when fixed, without a restart.
 *
 * Screenshots go to a temp folder; `TRIBUTARY_SCREENSHOTS=docs/screenshots` writes the docs'.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { launchChromium, waitFor } from '@tributary/testkit';
import type { Browser, Page } from 'playwright-core';
import { generateSales } from '../../pipelines/sales/generate-sales';
import { Stack } from './stack';

jest.setTimeout(240_000);

const ROOT = path.resolve(__dirname, '../..');
const SHOTS = process.env.TRIBUTARY_SCREENSHOTS
  ? path.resolve(ROOT, process.env.TRIBUTARY_SCREENSHOTS)
  : mkdtempSync(path.join(tmpdir(), 'trib-shots-'));
const GANTRIES = ['G001', 'G002', 'G003', 'G004'];
const ndjson = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r)).join('\n');

/** Passages in the last half hour; every 7th over 130 km/h. */
function passages(from: number, n: number): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return {
      event_id: `r-${i}`,
      gantry_id: GANTRIES[i % GANTRIES.length],
      plate: `PL${i}`,
      speed_mph: i % 7 === 0 ? 95 : 30 + (i % 40),
      lane: (i % 3) + 1,
      passengers: (i % 4) + 1,
      observed_at: new Date(now - 30 * 60_000 + k * 1000).toISOString(),
    };
  });
}

/** The payments sample moved so its last payment was an hour ago (intervals kept: the rules see the same). */
function payments(): Record<string, unknown>[] {
  const rows = readFileSync(path.join(ROOT, 'pipelines/samples/transactions.ndjson'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, string>);
  const last = Math.max(...rows.map((r) => Date.parse(r.at!)));
  const shift = Date.now() - 3600_000 - last;
  return rows.map((r) => ({ ...r, at: new Date(Date.parse(r.at!) + shift).toISOString() }));
}

/** Forecast and events rows, written straight into their tables. */
async function writeForecastAndEvents(stack: Stack): Promise<void> {
  await stack.query(`
    INSERT INTO warehouse.fact_hourly_forecast (location, forecast_for, temperature_c, apparent_temperature_c, humidity, precipitation_probability, wind_speed_ms, _msg_id)
    SELECT loc, date_trunc('hour', now()) + h * interval '1 hour', 10 + (h % 24) * 0.5 + k, 9 + (h % 24) * 0.5, 50 + h % 40, (h * 7) % 100, 3.5, 'e2e'
    FROM generate_series(0, 143) h, (VALUES ('41.5868,-93.625', 0), ('52.37,4.9', 3)) AS l(loc, k)`);
  await stack.query(`
    INSERT INTO warehouse.fact_daily_forecast (location, day, temperature_max_c, temperature_min_c, humidity_avg, precipitation_probability_max, sunrise_at, sunset_at, _msg_id)
    SELECT loc, current_date + d, 20 + d, 5 + d, 60, 40 + d, (current_date + d) + time '12:30', (current_date + d) + time '22:45', 'e2e'
    FROM generate_series(0, 5) d, (VALUES ('41.5868,-93.625'), ('52.37,4.9')) AS l(loc)`);
  await stack.query(`
    INSERT INTO warehouse.dim_venue (venue_id, venue_name, city, country, latitude, longitude, valid_from, _msg_id) VALUES
      ('V1', 'Wells Fargo Arena', 'Des Moines', 'US', 41.59, -93.62, now(), 'e2e'),
      ('V2', 'United Center', 'Chicago', 'US', 41.88, -87.67, now(), 'e2e'),
      ('V3', 'Ziggo Dome', 'Amsterdam', 'NL', 52.31, 4.94, now(), 'e2e')`);
  await stack.query(`
    INSERT INTO warehouse.dim_event (event_id, name, starts_at, status, genre, venue_id, venue_name, city, valid_from, _msg_id)
    SELECT 'E' || i, 'Concert ' || i, now() + (i - 4) * interval '1 day' + interval '1 hour',
           CASE WHEN i % 4 = 0 THEN 'cancelled' ELSE 'onsale' END, CASE WHEN i % 2 = 0 THEN 'Rock' ELSE 'Jazz' END,
           'V' || (1 + i % 3), (ARRAY['Wells Fargo Arena', 'United Center', 'Ziggo Dome'])[1 + i % 3], (ARRAY['Des Moines', 'Chicago', 'Amsterdam'])[1 + i % 3],
           now(), 'e2e'
    FROM generate_series(1, 8) i`);
  await stack.query(`
    INSERT INTO warehouse.fact_venue_forecast (venue_id, forecast_for, temp_c, humidity, precipitation_probability, wind_speed_ms, conditions, _msg_id)
    SELECT venue_id, starts_at + interval '20 minutes', 15 + length(name), 70, 0.3, 4, 'light rain', 'e2e' FROM warehouse.dim_event WHERE starts_at > now()`);
  await stack.query(`
    INSERT INTO warehouse.fact_event_weather (event_id, venue_id, observed_at, temp_c, humidity, wind_speed_ms, conditions, _msg_id)
    SELECT event_id, venue_id, starts_at, 8, 80, 6, 'clear sky', 'e2e' FROM warehouse.dim_event WHERE starts_at < now()`);
}

describe('reports', () => {
  let stack: Stack;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let reportsDir: string;
  const sales = generateSales({ seed: 5, orders: 80 });

  const sql = async (text: string, params: unknown[] = []): Promise<string> => {
    const [row] = await stack.query(text, params);
    return String(Object.values(row!)[0]);
  };
  /** Opens a report and waits for its first refresh. */
  const open = async (name: string, query = ''): Promise<void> => {
    await page.goto(`${stack.url('monitor')}/reports/${name}${query}`);
    await page.locator('.report[data-refreshed]').waitFor();
  };
  const tile = (title: string) => page.locator('.report-tile', { has: page.getByRole('heading', { name: title, exact: true }) });
  const bigNumber = (title: string): Promise<string | null> => tile(title).locator('.big-number .value').getAttribute('data-value');
  const rowsOf = (title: string): Promise<string | null> => tile(title).getAttribute('data-rows');
  /** The sum of a table tile's `n`th column, as its cells hold it. */
  const columnSum = (title: string, n: number): Promise<string> =>
    tile(title)
      .locator(`tbody td:nth-child(${n})`)
      .evaluateAll((tds) => String(tds.reduce((a, td) => a + Number(td.getAttribute('data-value')), 0)));
  /** Waits until `read` returns `want` (the page updates on its own; the CSP forbids waitForFunction's eval). */
  const until = (read: () => Promise<string | null>, want: string, what: string): Promise<unknown> =>
    waitFor(async () => ((await read()) === want ? true : undefined), { timeoutMs: 60_000, what });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trib-reports-'));
    const pipelines = path.join(dir, 'pipelines');
    mkdirSync(pipelines);
    for (const f of [
      'traffic-windows.yaml',
      'transactions.yaml',
      'sales.yaml',
      'forecast.yaml',
      'events_weather.yaml',
      'connections.yaml',
      'schemas',
      'sales',
      'models',
    ])
      cpSync(path.join(ROOT, 'pipelines', f), path.join(pipelines, f), { recursive: true });
    reportsDir = path.join(dir, 'reports');
    cpSync(path.join(ROOT, 'reports'), reportsDir, { recursive: true });
    mkdirSync(SHOTS, { recursive: true });
    [stack, browser] = await Promise.all([
      Stack.start({
        pipelines,
        migrateArgs: ['--roles'],
        env: {
          TRIBUTARY_REPORTS: reportsDir,
          INGEST_PULL_SOURCES: 'false',
          MONITOR_REFRESH: '300ms',
          MONITOR_LIVE_INTERVAL: '500ms',
          MONITOR_REPORTS_STATEMENT_TIMEOUT: '2s',
          LOADER_MODELS_INTERVAL_MS: '200',
        },
      }),
      launchChromium(),
    ]);
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    expect((await stack.push('gantry', ndjson(passages(0, 300)), {}, 'traffic_windows')).status).toBe(202);
    const paid = await stack.push('payments', ndjson(payments()), {}, 'transactions');
    expect(paid.status).toBe(202);
    for (const source of ['sales_order', 'currency', 'staff', 'address', 'design', 'counterparty'] as const)
      expect((await stack.push(source, ndjson(sales[source]), { 'idempotency-key': `r-${source}` }, 'sales')).status).toBe(202);
    await writeForecastAndEvents(stack);
    await waitFor(
      async () => {
        const [r] =
          await stack.query(`SELECT (SELECT count(*) FROM warehouse.fact_passage_live)::int AS p, (SELECT count(*) FROM warehouse.fact_transaction)::int AS t,
          (SELECT count(*) FROM warehouse.fact_sales_order WHERE counterparty_sk IS NOT NULL)::int AS s`);
        const [m] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.revenue_by_design_region_month`).catch(() => [{ n: 0 }]);
        // A payment the transformer dead-letters (the sample has one) is not loaded.
        const tx = await stack.status('transactions');
        const payments = paid.json.accepted - tx.dead_lettered.transform - tx.dead_lettered.load;
        if (r!.p === 300 && r!.t === payments && r!.s > 0 && m!.n > 0) return true;
        throw new Error(`loaded so far: ${JSON.stringify({ ...r, models: m!.n, payments })}`);
      },
      { timeoutMs: 120_000, what: 'passages, payments, orders and models loaded' },
    );
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists the shipped reports and renders each one with the values the warehouse holds', async () => {
    await page.goto(`${stack.url('monitor')}/reports`);
    await expect(page.locator('.report-card h2').allTextContents()).resolves.toEqual([
      'Card fraud, live',
      'Events and weather',
      'Sales',
      'Six-day forecast',
      'Traffic, live',
    ]);

    await open('traffic-live');
    const day = `observed_at >= current_date - 1 AND observed_at < current_date + 1`;
    await expect(bigNumber('Vehicles')).resolves.toBe(await sql(`SELECT count(*) FROM warehouse.fact_passage_live WHERE ${day}`));
    await expect(bigNumber('Passengers per vehicle')).resolves.toBe(
      await sql(`SELECT round(avg(passengers)::numeric, 2) FROM warehouse.fact_passage_live WHERE ${day}`),
    );
    await expect(page.locator('.inline-value[data-column="speeding"]').getAttribute('data-value')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_passage_live WHERE speed_kmh > 130 AND ${day}`),
    );
    await expect(rowsOf('Per gantry')).resolves.toBe(String(GANTRIES.length));
    await expect(page.locator('.report-tile.failed').count()).resolves.toBe(0);
    await expect(page.locator('.report-tile .age').first().textContent()).resolves.toMatch(/^Data .* old · SLA 5 m$/);
    await page.locator('.report-tile.heatmap svg').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'report-traffic-live.png'), fullPage: true });

    await open('card-fraud');
    const week = `at >= current_date - 7 AND at < current_date + 1`;
    const flagged = `(fraud_score > 0 OR fraud_probability >= 0.5) AND ${week}`;
    await expect(bigNumber('Flagged payments')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_transaction WHERE ${flagged}`),
    );
    await expect(bigNumber('Amount at risk')).resolves.toBe(
      await sql(`SELECT round(sum(amount)::numeric, 2) FROM warehouse.fact_transaction WHERE ${flagged}`),
    );
    await expect(rowsOf('Flagged payments, newest first')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_fraud_alert WHERE ${week}`),
    );
    expect(Number(await bigNumber('Flagged payments'))).toBeGreaterThan(0);
    // The model's scores (issue 19): what it flagged, where it agrees with the rules, which model scored.
    const scored = `fraud_probability >= 0.5 AND ${week}`;
    await expect(bigNumber('Flagged by the model')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_transaction WHERE ${scored}`),
    );
    await expect(bigNumber('Flagged by the model and the rules')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_transaction WHERE fraud_score > 0 AND ${scored}`),
    );
    await expect(bigNumber('Amount the model puts at risk')).resolves.toBe(
      await sql(`SELECT coalesce(round(sum(amount)::numeric, 2), 0) FROM warehouse.fact_transaction WHERE ${scored}`),
    );
    await expect(rowsOf('High-score payments (model 0.5 or more)')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.fact_transaction WHERE ${scored}`),
    );
    const cells = async (title: string): Promise<(string | null)[][]> => {
      const out: (string | null)[][] = [];
      for (const tr of await tile(title).locator('tbody tr').all())
        out.push(await Promise.all((await tr.locator('td').all()).map((td) => td.getAttribute('data-value'))));
      return out;
    };
    const verdicts = await stack.query(
      `SELECT CASE WHEN fraud_probability >= 0.5 AND fraud_score > 0 THEN 'both' WHEN fraud_probability >= 0.5 THEN 'model only'
                   WHEN fraud_score > 0 THEN 'rules only' ELSE 'neither' END AS verdict, count(*)::text AS n, round(sum(amount)::numeric, 2)::text AS amount
       FROM warehouse.fact_transaction WHERE ${week} GROUP BY 1 ORDER BY count(*) DESC, 1`,
    );
    await expect(cells('Model and rules')).resolves.toEqual(verdicts.map((v) => [v.verdict, v.n, v.amount]));
    const models = await stack.query(
      `SELECT fraud_model, count(*)::text AS n FROM warehouse.fact_transaction WHERE ${week} AND fraud_model IS NOT NULL GROUP BY 1 ORDER BY max(at) DESC`,
    );
    expect(models.length).toBeGreaterThan(0);
    expect(String(models[0]!.fraud_model)).toMatch(/^fraud@\S+ sha256:[0-9a-f]{64}$/);
    await expect(cells('Models that scored these payments').then((rows) => rows.map((r) => r.slice(0, 2)))).resolves.toEqual(
      models.map((m) => [m.fraud_model, m.n]),
    );
    await expect(rowsOf('Payments by model score (%, bands of 10)')).resolves.toBe(
      await sql(
        `SELECT count(DISTINCT (least(floor(fraud_probability * 10), 9), fraud_score > 0)) FROM warehouse.fact_transaction WHERE ${week} AND fraud_probability IS NOT NULL`,
      ),
    );
    await page.locator('.report-tile.map svg').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'report-card-fraud.png'), fullPage: true });

    await open('sales', '?period.from=2000-01-01&period.to=2100-01-01');
    await expect(bigNumber('Orders')).resolves.toBe(await sql(`SELECT count(*) FROM warehouse.fact_sales_order`));
    await expect(bigNumber('Units sold')).resolves.toBe(await sql(`SELECT sum(units_sold) FROM warehouse.fact_sales_order`));
    await expect(rowsOf('Revenue by design, region and month')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.revenue_by_design_region_month`),
    );
    const firstCounterparty = await tile('Top 10 counterparties by revenue')
      .locator('tbody tr')
      .first()
      .locator('td')
      .nth(3)
      .getAttribute('data-value');
    expect(firstCounterparty).toBe(
      await sql(
        `SELECT round(sum(units_sold * unit_price)::numeric, 2) AS r FROM warehouse.fact_sales_order f JOIN warehouse.dim_counterparty v ON v.dim_counterparty_sk = f.counterparty_sk GROUP BY v.counterparty_id, f.currency_id ORDER BY r DESC LIMIT 1`,
      ),
    );
    await page.screenshot({ path: path.join(SHOTS, 'report-sales.png'), fullPage: true });

    await open('six-day-forecast');
    await page.locator('select[data-input="location"] option[value="41.5868,-93.625"]').waitFor({ state: 'attached' });
    await until(() => rowsOf('Day by day'), '6', 'six days of the first location');
    await expect(bigNumber('Warmest hour (°C)')).resolves.toBe(
      await sql(
        `SELECT max(temperature_c) FROM warehouse.fact_hourly_forecast WHERE location = '41.5868,-93.625' AND forecast_for >= date_trunc('hour', now())`,
      ),
    );
    await page.screenshot({ path: path.join(SHOTS, 'report-six-day-forecast.png'), fullPage: true });

    await open('events-weather');
    await expect(bigNumber('Upcoming events')).resolves.toBe(
      await sql(`SELECT count(*) FROM warehouse.dim_event WHERE is_current AND starts_at >= now()`),
    );
    await expect(rowsOf('Past events')).resolves.toBe(await sql(`SELECT count(*) FROM warehouse.fact_event_weather`));
    const forecastTemp = await tile('Upcoming events and their forecast')
      .locator('tbody tr')
      .first()
      .locator('td')
      .nth(5)
      .getAttribute('data-value');
    expect(forecastTemp).toBe(
      await sql(
        `SELECT f.temp_c FROM warehouse.dim_event e JOIN warehouse.fact_venue_forecast f ON f.venue_id = e.venue_id AND f.forecast_for = e.starts_at + interval '20 minutes' WHERE e.starts_at >= now() ORDER BY e.starts_at LIMIT 1`,
      ),
    );
    await page.locator('.report-tile.map svg').waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'report-events-weather.png'), fullPage: true });
  });

  it('builds a self-contained static HTML snapshot of a report', async () => {
    const out = path.join(dir, 'out');
    await expect(
      stack.cli(['report', 'build', 'traffic-live', '--out', out], { MONITOR_URL: stack.url('monitor') }),
    ).resolves.toMatchObject({
      stdout: `wrote ${path.join(out, 'traffic-live.html')}\n`,
    });
    const html = readFileSync(path.join(out, 'traffic-live.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|src="http/);
    expect(html.match(/<svg/g)?.length).toBe(4); // line, histogram, bar, heatmap
    const vehicles = await sql(
      `SELECT count(*) FROM warehouse.fact_passage_live WHERE observed_at >= current_date - 1 AND observed_at < current_date + 1`,
    );
    expect(html).toContain(`<h2>Vehicles</h2><p class="big">${Number(vehicles).toLocaleString('en-US')}</p>`);
  });

  it('updates a tile when a load commits while the page is open, without a reload', async () => {
    await open('traffic-live');
    await page.evaluate(() => ((globalThis as Record<string, unknown>).sameDocument = true));
    const before = Number(await bigNumber('Vehicles'));
    // "Per gantry" is further down: shown with every vehicle, then out of view again, where its
    // live update waits until it scrolls in.
    const perGantry = (): Promise<string> => columnSum('Per gantry', 2);
    await tile('Per gantry').scrollIntoViewIfNeeded();
    await until(perGantry, String(before), 'the Per gantry tile to show every vehicle');
    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    expect((await stack.push('gantry', ndjson(passages(10_000, 40)), {}, 'traffic_windows')).status).toBe(202);
    await until(() => bigNumber('Vehicles'), String(before + 40), 'the Vehicles tile to count the new passages');
    await tile('Per gantry').scrollIntoViewIfNeeded();
    await until(perGantry, String(before + 40), 'the Per gantry tile, scrolled into view, to count the new passages');
    await expect(page.evaluate(() => (globalThis as Record<string, unknown>).sameDocument)).resolves.toBe(true);
  });

  it('shares one live feed among the tabs of a browser, and one run of each query among them; every tab updates', async () => {
    const clients = async (): Promise<number> =>
      Number(/^tributary_dashboard_clients(?:{[^}]*})? (\d+)/m.exec(await (await fetch(`${stack.url('monitor')}/metrics`)).text())?.[1]);
    const before = await clients();
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
    try {
      const tabs = [];
      for (let i = 0; i < 4; i++) {
        const t = await context.newPage();
        await t.goto(`${stack.url('monitor')}/reports/traffic-live`);
        await t.locator('.report[data-refreshed]').waitFor();
        tabs.push(t);
      }
      // Four tabs, one more connection to the live feed (the shared worker's), not four.
      await waitFor(async () => ((await clients()) === before + 1 ? true : undefined), {
        timeoutMs: 10_000,
        what: 'one live connection for the tabs',
      });
      const vehicles = (t: Page) =>
        t
          .locator('.report-tile', { has: t.getByRole('heading', { name: 'Vehicles', exact: true }) })
          .locator('.big-number .value')
          .getAttribute('data-value');
      const counts = await Promise.all(tabs.map(vehicles));
      expect(new Set(counts).size).toBe(1);
      // The monitor answered every tab from one run (the footer's tooltip says when it ran).
      const ran = await Promise.all(
        tabs.map((t) =>
          t
            .locator('.report-tile', { has: t.getByRole('heading', { name: 'Vehicles', exact: true }) })
            .locator('footer span')
            .getAttribute('title'),
        ),
      );
      expect(ran[0]).toMatch(/^ran \d{4}-/);
      expect(new Set(ran).size).toBe(1);
      expect((await stack.push('gantry', ndjson(passages(20_000, 25)), {}, 'traffic_windows')).status).toBe(202);
      for (const t of tabs) await until(() => vehicles(t), String(Number(counts[0]) + 25), 'every tab to count the new passages');
      await expect(clients()).resolves.toBe(before + 1);
    } finally {
      await context.close();
    }
  });

  it('re-runs the queries with the inputs: a dropdown, a text search and a date range', async () => {
    await open('traffic-live');
    await page.locator('select[data-input="gantry"] option[value="G002"]').waitFor({ state: 'attached' });
    // "Per gantry" reads no gantry input: its query answers the same rows, and the tile keeps the
    // table it drew (the element marked here), while the Vehicles tile draws its new number. First
    // it shows every passage loaded (not a result the refresh policy held back before the last load).
    const loaded = await sql(`SELECT count(*) FROM warehouse.fact_passage_live WHERE observed_at >= current_date - 1`);
    await tile('Per gantry').scrollIntoViewIfNeeded();
    await until(() => columnSum('Per gantry', 2), loaded, 'the Per gantry tile to show every passage loaded');
    const perGantry = tile('Per gantry').locator('table');
    await perGantry.evaluate((el) => el.setAttribute('data-drawn-before', ''));
    const refreshed = (): Promise<string | null> => page.locator('.report').getAttribute('data-refreshed');
    const before = await refreshed();
    await page.selectOption('select[data-input="gantry"]', 'G002');
    const g2 = await sql(`SELECT count(*) FROM warehouse.fact_passage_live WHERE gantry_id = 'G002' AND observed_at >= current_date - 1`);
    await until(() => bigNumber('Vehicles'), g2, 'vehicles of gantry G002');
    expect(new URL(page.url()).searchParams.get('gantry')).toBe('G002');
    // Every query of the refresh answered and was drawn (the page sets data-refreshed after that).
    await waitFor(async () => ((await refreshed()) !== before ? true : undefined), { timeoutMs: 60_000, what: 'the refresh with G002' });
    await expect(perGantry.getAttribute('data-drawn-before')).resolves.toBe('');

    await open('card-fraud');
    const city = await sql(`SELECT city FROM warehouse.fact_fraud_alert ORDER BY at LIMIT 1`);
    await page.fill('input[data-input="search"]', city);
    const n = await sql(`SELECT count(*) FROM warehouse.fact_fraud_alert WHERE city ILIKE $1`, [`%${city}%`]);
    await until(
      async () => (new URL(page.url()).searchParams.get('search') === city ? rowsOf('Flagged payments, newest first') : null),
      n,
      'payments flagged in the city',
    );

    await page.fill('input[data-input="period.from"]', '2001-01-01');
    await page.fill('input[data-input="period.to"]', '2001-01-02');
    await page.dispatchEvent('input[data-input="period.to"]', 'change');
    await until(() => rowsOf('Flagged payments, newest first'), '0', 'no payments flagged in 2001');
  });

  it('binds every input kind as a parameter: injection finds nothing and changes nothing', async () => {
    const attack = `x' OR '1'='1'; DELETE FROM warehouse.fact_passage_live; --`;
    const count = await sql(`SELECT count(*) FROM warehouse.fact_passage_live`);
    await open('card-fraud', `?search=${encodeURIComponent(attack)}`);
    await expect(rowsOf('Flagged payments, newest first')).resolves.toBe('0');
    await open('traffic-live', `?gantry=${encodeURIComponent(attack)}`);
    await expect(bigNumber('Vehicles')).resolves.toBe('0');
    const r = await fetch(
      `${stack.url('monitor')}/api/reports/traffic-live/data?${new URLSearchParams({ 'period.from': `2026-01-01'::date OR true --` })}`,
    );
    expect(r.status).toBe(400);
    await expect(r.json()).resolves.toMatchObject({ error: { code: 'TRIB_E_PARSE', message: expect.stringContaining('period.from') } });
    await open('traffic-live', `?period.to=${encodeURIComponent(attack)}`);
    await expect(page.locator('.report-tile.failed').count()).resolves.toBeGreaterThan(0);
    await expect(sql(`SELECT count(*) FROM warehouse.fact_passage_live`)).resolves.toBe(count);
  });

  it('shows a broken report its errors with file and line, slow and writing queries fail in their tile, and a fix shows without a restart', async () => {
    const file = path.join(reportsDir, 'broken.md');
    writeFileSync(
      file,
      [
        '---',
        'title: Broken',
        'pipelines: [traffic_windows]',
        '---',
        '```sql slow',
        'SELECT pg_sleep(5) AS slept',
        '```',
        '```sql writes',
        'WITH gone AS (DELETE FROM fact_passage_live RETURNING 1) SELECT count(*) AS n FROM gone',
        '```',
        '```sql wrong',
        'SELECT nope FROM fact_passage_live',
        '```',
        '```big_number',
        'query: slow',
        'value: slept',
        '```',
        '```big_number',
        'query: writes',
        'value: n',
        '```',
        '```sparkline',
        'query: wrong',
        '```',
      ].join('\n'),
    );
    await waitFor(
      async () =>
        ((await (await fetch(`${stack.url('monitor')}/api/reports/broken`)).json()) as { problems?: unknown[] }).problems?.length === 3 ||
        undefined,
      {
        timeoutMs: 20_000,
        what: 'the new report file picked up with its problems',
      },
    );
    await open('broken');
    await expect(page.locator('.problems li').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^broken\.md:9 query writes: .*data-modifying/),
      'broken.md:12 query wrong: column "nope" does not exist',
      expect.stringMatching(/^broken\.md:22 unknown component "sparkline"/),
    ]);
    await page.locator('.report-tile.failed').nth(1).waitFor();
    await expect(page.locator('.report-tile.failed .tile-error').allTextContents()).resolves.toEqual([
      expect.stringContaining('statement timeout'),
      expect.stringMatching(/query writes \(.*broken\.md:9\): .*(read-only|data-modifying)/),
    ]);
    await page.screenshot({ path: path.join(SHOTS, 'report-broken.png'), fullPage: true });
    await expect(sql(`SELECT count(*) > 0 FROM warehouse.fact_passage_live`)).resolves.toBe('true');
    // `validate` finds the same problems and fails, so CI does.
    await expect(stack.cli(['validate'])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('broken.md:22: unknown component "sparkline"'),
    });

    writeFileSync(
      file,
      [
        '---',
        'title: Fixed',
        'pipelines: [traffic_windows]',
        '---',
        '```sql n',
        'SELECT count(*) AS n FROM fact_passage_live',
        '```',
        '```big_number',
        'query: n',
        'value: n',
        'title: Rows',
        '```',
      ].join('\n'),
    );
    await waitFor(
      async () =>
        ((await (await fetch(`${stack.url('monitor')}/api/reports/broken`)).json()) as { title?: string }).title === 'Fixed' || undefined,
      {
        timeoutMs: 20_000,
        what: 'the fixed report picked up',
      },
    );
    await open('broken');
    await expect(page.locator('.problems').count()).resolves.toBe(0);
    await expect(bigNumber('Rows')).resolves.toBe(await sql(`SELECT count(*) FROM warehouse.fact_passage_live`));
  });
});
