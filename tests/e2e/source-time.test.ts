/**
 * Source time through the whole stack (docs/design.md, Wire contract, Source time): a row
 * committed in a PostgreSQL source (wal_level=logical) captured by `postgres_cdc` lands with its
 * transaction's commit time in `_source_time`, exact to the microsecond, and in the ledger; a push
 * source's configured field and its request header give the source time of pushed records, the
 * oldest of a batch on the message, the oldest of every input on a window's aggregate row; a
 * message whose header is not a timestamp is dead-lettered whole, never loaded without it. The
 * monitor's source freshness follows the newest source time loaded: with the source busy it stays
 * within the SLA; with the ingest-api stopped it grows past it and the freshness alert fires.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { H, makeHeaders } from '@tributary/contract/wire';
import { NDJSON } from '@tributary/contract/codec';
import { launchChromium, PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { Stack } from './stack';

jest.setTimeout(180_000);

const PIPELINE = `
pipeline: shop
sla:
  freshness: 5s
connections:
  shop: { kind: postgres, url: env:SHOP_DB_URL }
sources:
  shop_db:
    kind: postgres_cdc
    connection: shop
    tables: [orders]
    flush_interval: 50ms
    heartbeat: 500ms
  clicks_in:
    kind: push
    source_time: meta.updated_at
datasets:
  orders:
    from: shop_db
    fields:
      id: { type: integer, required: true }
      amount: { type: decimal, precision: 10, scale: 2 }
  clicks:
    from: clicks_in
    fields:
      id: { type: integer, required: true }
      page: string
      at: timestamp
  clicks_hourly:
    from: clicks
    steps:
      - window: { tumbling: 1h, time: at, key: [page], aggregate: { n: count() } }
tables:
  orders: { from: orders, mode: upsert, key: [id] }
  clicks: { from: clicks, mode: append, key: [id] }
  clicks_hourly: { from: clicks_hourly, mode: aggregate }
`;

let source: PostgresServer;
let db: Client;
let stack: Stack;

const JSON_BODY = { 'content-type': 'application/json' };

/** `ts` as PostgreSQL's microsecond text in UTC. */
const US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

beforeAll(async () => {
  source = await PostgresServer.start({
    settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4, track_commit_timestamp: 'on' },
  });
  const url = await source.createDatabase('shop');
  db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric(10,2))`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-source-time-'));
  const file = path.join(dir, 'shop.yaml');
  writeFileSync(file, PIPELINE);
  stack = await Stack.start({
    pipelines: file,
    env: { SHOP_DB_URL: url, MONITOR_ALERT_INTERVAL: '500ms', MONITOR_ALERT_FOR: '1s' },
  });
});
afterAll(async () => {
  await db?.end().catch(() => undefined);
  await stack?.stopAll();
  await source?.cleanup();
});

describe('source time from the source to the warehouse', () => {
  it('lands a CDC row with its transaction commit time, microseconds exact, in the row and the ledger', async () => {
    await db.query('BEGIN');
    await db.query(`INSERT INTO orders VALUES (1, 10.00), (2, 20.00)`);
    await db.query('COMMIT');
    const [committed] = (
      await db.query<{ at: string }>(
        `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', ${US}) AS at FROM orders WHERE id = 1`,
      )
    ).rows;
    const rows = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT id::text, to_char(_source_time AT TIME ZONE 'UTC', ${US}) AS source_time FROM warehouse.orders ORDER BY id`,
        );
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'two orders in the warehouse' },
    );
    expect(rows).toEqual([
      { id: '1', source_time: committed!.at },
      { id: '2', source_time: committed!.at },
    ]);
    const ledger = await stack.query(
      `SELECT to_char(max(source_time) AT TIME ZONE 'UTC', ${US}) AS newest FROM tributary.load_ledger WHERE pipeline = 'shop' AND table_name = 'orders'`,
    );
    expect(ledger).toEqual([{ newest: committed!.at }]);
    // The monitor reads it from the ledger, exact, and its age.
    const status = await stack.status('shop');
    expect(status.tables.orders).toMatchObject({ newest_source_time: committed!.at });
    expect(status.tables.orders.source_freshness_seconds).toBeGreaterThanOrEqual(0);
    expect(status.tables.orders.source_freshness_seconds).toBeLessThan(30);
  });

  it('takes a push source field (the oldest of the batch) or the request header, and keeps the oldest through a window', async () => {
    const clicks = [
      { id: 1, page: 'home', at: '2026-12-06T10:05:00Z', meta: { updated_at: '2026-12-06T11:00:00.000002+01:00' } },
      { id: 2, page: 'home', at: '2026-12-06T10:06:00Z', meta: { updated_at: '2026-12-06T10:00:00.000001Z' } },
      { id: 3, page: 'home', at: '2026-12-06T10:07:00Z', meta: { updated_at: null } },
    ];
    const first = await stack.push(
      'clicks_in',
      clicks.map((c) => JSON.stringify(c)).join('\n'),
      { 'content-type': 'application/x-ndjson' },
      'shop',
    );
    expect(first.status).toBe(202);
    // The header gives a second batch one, newer, time.
    const second = await stack.push(
      'clicks_in',
      JSON.stringify([{ id: 4, page: 'home', at: '2026-12-06T10:08:00Z' }]),
      { ...JSON_BODY, 'trib-source-time': '2026-12-06T12:00:00.5+02:00' },
      'shop',
    );
    expect(second.status).toBe(202);
    // A field that is not a timestamp is dead-lettered, naming it; a bad header is refused.
    const bad = await stack.push('clicks_in', JSON.stringify([{ id: 5, page: 'x', meta: { updated_at: 'soon' } }]), JSON_BODY, 'shop');
    expect(bad.json).toMatchObject({ accepted: 0, rejected: 1, errors: [{ index: 0, field: 'meta.updated_at' }] });
    const badHeader = await stack.push('clicks_in', JSON.stringify([{ id: 6 }]), { ...JSON_BODY, 'trib-source-time': 'soon' }, 'shop');
    expect(badHeader.status).toBe(400);
    expect(JSON.stringify(badHeader.json)).toMatch(/Trib-Source-Time/);

    const rows = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT id::text, to_char(_source_time AT TIME ZONE 'UTC', ${US}) AS source_time FROM warehouse.clicks ORDER BY id`,
        );
        return r.length === 4 ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 300, what: 'four clicks in the warehouse' },
    );
    // Stored per row as the message's (oldest) source time.
    expect(rows).toEqual([
      { id: '1', source_time: '2026-12-06T10:00:00.000001Z' },
      { id: '2', source_time: '2026-12-06T10:00:00.000001Z' },
      { id: '3', source_time: '2026-12-06T10:00:00.000001Z' },
      { id: '4', source_time: '2026-12-06T10:00:00.500000Z' },
    ]);
    const hourly = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT n::text, to_char(_source_time AT TIME ZONE 'UTC', ${US}) AS source_time FROM warehouse.clicks_hourly`,
        );
        return r.length === 1 && r[0]!.n === '4' ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'the hourly window over four clicks' },
    );
    expect(hourly).toEqual([{ n: '4', source_time: '2026-12-06T10:00:00.000001Z' }]);
  });

  it('dead-letters a whole message whose Trib-Source-Time is not a timestamp, at the transformer and at the loader', async () => {
    const nc = await connect({ servers: stack.nats.url });
    try {
      const js = jetstream(nc);
      const base = { [H.pipeline]: 'shop', [H.count]: 1, [H.ingestedAt]: Date.now(), [H.contentType]: NDJSON, [H.sourceTime]: 'soon' };
      await js.publish('trib.raw.shop.clicks_in', new TextEncoder().encode('{"id": 70, "page": "x"}'), {
        msgID: 'bad-time-raw',
        headers: makeHeaders({ ...base, [H.source]: 'clicks_in' }),
      });
      await js.publish('trib.processed.shop.clicks', new TextEncoder().encode('{"id": 71, "page": "x"}'), {
        msgID: 'bad-time-processed:clicks',
        headers: makeHeaders({ ...base, [H.dataset]: 'clicks' }),
      });
    } finally {
      await nc.close();
    }
    const dead = await waitFor(
      async () => {
        const r = await stack.query(
          `SELECT stage, error_code, error_message FROM tributary.dead_letters WHERE msg_id IN ('bad-time-raw:dlq:batch', 'bad-time-processed:clicks:dlq:batch') ORDER BY stage`,
        );
        return r.length === 2 ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'both messages dead-lettered whole' },
    );
    expect(dead.map((d) => d.stage)).toEqual(['load', 'transform']);
    for (const d of dead) expect(d.error_code).toBe('TRIB_E_PARSE');
    for (const d of dead) expect(d.error_message).toMatch(/Trib-Source-Time: "soon" is not an RFC 3339 timestamp/);
    expect(await stack.query(`SELECT id FROM warehouse.clicks WHERE id IN (70, 71)`)).toEqual([]);
  });

  it('keeps source freshness within the SLA while the source is busy, and alerts and shows it when the ingest-api stops', async () => {
    type Alert = { alert: string; state: string; labels: Record<string, string>; summary?: string };
    const breach = async (): Promise<Alert | undefined> => {
      const a = (await (await fetch(`${stack.url('monitor')}/api/alerts`)).json()) as { active: Alert[] };
      return a.active.find((x) => x.alert === 'TributaryFreshnessBreach' && x.labels.pipeline === 'shop' && x.state === 'firing');
    };
    // A busy source: one committed order every 250 ms.
    let id = 100;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        await db.query('INSERT INTO orders VALUES ($1, 1.00)', [id++]);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      await waitFor(async () => ((await stack.status('shop')).source_freshness_seconds < 3 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'source freshness within the SLA while the source is busy',
      });
      await waitFor(async () => ((await breach()) ? undefined : true), { timeoutMs: 30_000, what: 'no freshness breach' });
      const metrics = await (await fetch(`${stack.url('monitor')}/metrics`)).text();
      expect(metrics).toMatch(/tributary_pipeline_source_freshness_seconds\{pipeline="shop"[^}]*\} \d/);
      expect(metrics).toMatch(/tributary_table_source_freshness_seconds\{pipeline="shop",table="orders"[^}]*\} \d/);

      // The ingest-api stops: the source goes on committing, nothing newer is loaded.
      await stack.stop('ingest-api');
      const stale = await waitFor(
        async () => {
          const s = await stack.status('shop');
          return s.source_freshness_seconds > 5 ? s : undefined;
        },
        { timeoutMs: 30_000, what: 'source freshness past the SLA' },
      );
      // Ingest is not behind (a record caught mid-flight at the stop may show for a moment): only the sources are.
      expect(stale.fresh).toBe(false);
      expect(stale.freshness_seconds).toBeLessThan(stale.sla.freshness_seconds);
      const firing = await waitFor(breach, { timeoutMs: 30_000, what: 'TributaryFreshnessBreach firing' });
      expect(firing.summary ?? JSON.stringify(firing)).toMatch(/source/);
      // The pipeline page shows it, per table too, and the SLA badge says why.
      const browser = await launchChromium();
      try {
        const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        await page.goto(`${stack.url('monitor')}/pipelines/shop`);
        const tile = page.locator('.tile', { hasText: 'Source freshness' });
        await tile.waitFor();
        await expect(tile.getAttribute('class')).resolves.toContain('bad');
        // Ingest is not behind: only the source freshness is.
        await expect(page.locator('.tile', { hasText: /^Freshness/ }).getAttribute('class')).resolves.toBe('tile');
        const orders = page.locator('tr[data-key="table-orders"] td').last();
        await expect(orders.textContent()).resolves.toMatch(/^\d+(\.\d)? s$/);
        await expect(orders.getAttribute('title')).resolves.toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
        await expect(page.locator('.badge', { hasText: 'SLA breached · sources' }).count()).resolves.toBe(1);
        await page.screenshot({ path: path.join(os.tmpdir(), 'trib-source-freshness.png'), fullPage: true });
      } finally {
        await browser.close();
      }

      // Back: it catches up and the breach resolves.
      await stack.startService('ingest-api');
      await waitFor(async () => ((await stack.status('shop')).source_freshness_seconds < 3 ? true : undefined), {
        timeoutMs: 30_000,
        what: 'source freshness back within the SLA',
      });
      await waitFor(async () => ((await breach()) ? undefined : true), { timeoutMs: 30_000, what: 'the breach resolved' });
    } finally {
      writing = false;
      await writer;
    }
  });
});
