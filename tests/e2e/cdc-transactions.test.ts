/**
 * Source transactions stay whole (docs/design.md, Source transactions), through the whole stack:
 * a PostgreSQL source (wal_level=logical) commits transactions that each insert an order, its
 * lines and change the customer's dimension row (three tables, three datasets, three warehouse
 * tables), some bigger than a CDC batch, a raw message and a loader flush, so their messages travel
 * apart. A reader polling the warehouse meanwhile, each look in one snapshot, never sees part of
 * one: every order it sees has all its lines and its customer's count, and no line or count
 * without its order. The monitor shows the source position the warehouse is consistent as of (the
 * last transaction's commit time once drained), and its counts add up per pipeline:
 * accepted = loaded + filtered + dead-lettered, each record once although three datasets read it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { Stack } from './stack';

jest.setTimeout(240_000);

const PIPELINE = `
pipeline: shop
connections:
  shop: { kind: postgres, url: env:SHOP_DB_URL }
sources:
  shop_db:
    kind: postgres_cdc
    connection: shop
    tables: [customers, orders, order_lines]
    batch_records: 20
    flush_interval: 20ms
    heartbeat: 500ms
datasets:
  customers:
    from: shop_db
    fields: { id: { type: integer, required: true }, orders_count: integer }
    steps:
      - filter: "_table = 'public.customers'"
  orders:
    from: shop_db
    fields: { id: { type: integer, required: true }, customer_id: integer, lines: integer }
    steps:
      - filter: "_table = 'public.orders'"
  order_lines:
    from: shop_db
    fields: { order_id: { type: integer, required: true }, line_no: { type: integer, required: true }, qty: integer }
    steps:
      - filter: "_table = 'public.order_lines'"
tables:
  customers: { from: customers, mode: upsert, key: [id] }
  orders: { from: orders, mode: upsert, key: [id] }
  order_lines: { from: order_lines, mode: upsert, key: [order_id, line_no] }
`;

const US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;
const CUSTOMERS = 5;

let source: PostgresServer;
let db: Client;
let stack: Stack;

beforeAll(async () => {
  source = await PostgresServer.start({
    settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4, track_commit_timestamp: 'on' },
  });
  const url = await source.createDatabase('shop');
  db = new Client({ connectionString: url });
  await db.connect();
  await db.query(`
    CREATE TABLE customers (id int PRIMARY KEY, orders_count int NOT NULL);
    CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, lines int NOT NULL);
    CREATE TABLE order_lines (order_id int NOT NULL, line_no int NOT NULL, qty int NOT NULL, PRIMARY KEY (order_id, line_no));
    INSERT INTO customers SELECT g, 0 FROM generate_series(1, ${CUSTOMERS}) g;`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-cdc-txn-'));
  const file = path.join(dir, 'shop.yaml');
  writeFileSync(file, PIPELINE);
  stack = await Stack.start({
    pipelines: file,
    env: {
      SHOP_DB_URL: url,
      // Small raw messages, processed messages and loader flushes: a transaction's rows travel in
      // several messages, split over flushes, unless the loader keeps them together.
      INGEST_BATCH_RECORDS: '15',
      TRANSFORMER_BATCH_BYTES: '2048',
      LOADER_BATCH_MESSAGES: '2',
    },
  });
});
afterAll(async () => {
  await db?.end().catch(() => undefined);
  await stack?.stopAll();
  await source?.cleanup();
});

/** What a partial transaction looks like from the warehouse, in one snapshot: empty when none is. */
async function partials(reader: Client): Promise<string[]> {
  await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const orders = await reader.query<{ id: number; lines: number; seen: number }>(
      `SELECT o.id, o.lines, (SELECT count(*)::int FROM warehouse.order_lines l WHERE l.order_id = o.id) AS seen FROM warehouse.orders o`,
    );
    const orphans = await reader.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM warehouse.order_lines l WHERE NOT EXISTS (SELECT 1 FROM warehouse.orders o WHERE o.id = l.order_id)`,
    );
    const counts = await reader.query<{ counted: number | null }>(`SELECT sum(orders_count)::int AS counted FROM warehouse.customers`);
    const out = orders.rows.filter((o) => Number(o.seen) !== Number(o.lines)).map((o) => `order ${o.id}: ${o.seen} of ${o.lines} lines`);
    if (Number(orphans.rows[0]!.n) > 0) out.push(`${orphans.rows[0]!.n} lines without their order`);
    const counted = Number(counts.rows[0]!.counted ?? 0);
    // Every order increments its customer's count in the same source transaction.
    if (orders.rows.length > 0 || counted > 0) {
      if (counted !== orders.rows.length) out.push(`customers count ${counted} orders, the warehouse has ${orders.rows.length}`);
    }
    return out;
  } finally {
    await reader.query('COMMIT');
  }
}

describe('source transactions through the stack', () => {
  it('never shows part of a source transaction, shows the position it is consistent as of, and counts each record once', async () => {
    // Wait for the source to run (slot made, snapshot of the five customers loaded).
    await waitFor(async () => (await stack.query(`SELECT count(*)::int AS n FROM warehouse.customers`))[0]!.n === CUSTOMERS, {
      timeoutMs: 60_000,
      what: 'the snapshot of the customers',
    });

    const reader = new Client({ connectionString: stack.databaseUrl });
    await reader.connect();
    const seen: string[] = [];
    let looks = 0;
    let writing = true;
    const polling = (async () => {
      while (writing) {
        const p = await partials(reader);
        looks++;
        seen.push(...p);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();

    const ORDERS = 120;
    let lines = 0;
    for (let id = 1; id <= ORDERS; id++) {
      // 1 to 45 lines: many transactions span batches (20), raw messages (15) and processed parts.
      const n = id % 9 === 0 ? 45 : 1 + ((id * 7) % 12);
      lines += n;
      await db.query('BEGIN');
      await db.query('INSERT INTO orders VALUES ($1, $2, $3)', [id, 1 + (id % CUSTOMERS), n]);
      await db.query('INSERT INTO order_lines SELECT $1, g, g * 2 FROM generate_series(1, $2::int) g', [id, n]);
      await db.query('UPDATE customers SET orders_count = orders_count + 1 WHERE id = $1', [1 + (id % CUSTOMERS)]);
      await db.query('COMMIT');
    }
    const [last] = (
      await db.query<{ at: string }>(
        `SELECT to_char(pg_xact_commit_timestamp(xmin) AT TIME ZONE 'UTC', ${US}) AS at FROM orders WHERE id = $1`,
        [ORDERS],
      )
    ).rows;

    await waitFor(async () => (await stack.query(`SELECT count(*)::int AS n FROM warehouse.order_lines`))[0]!.n === lines, {
      timeoutMs: 120_000,
      intervalMs: 200,
      what: `${lines} order lines in the warehouse`,
    });
    writing = false;
    await polling;
    seen.push(...(await partials(reader)));
    await reader.end();

    expect(looks).toBeGreaterThan(20);
    expect(seen).toEqual([]);
    const [orders] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.orders`);
    expect(orders!.n).toBe(ORDERS);

    // Nothing waits in the loader's staging once drained, and every batch was loaded whole once.
    expect(await stack.query(`SELECT count(*)::int AS n FROM tributary.txn_parts`)).toEqual([{ n: 0 }]);

    // The monitor: consistent as of the last transaction; counts add up per pipeline.
    const status = await waitFor(
      async () => {
        const s = await stack.status('shop');
        const c = s.source_consistency?.[0];
        const settled =
          s.lag.transformer.pending === 0 && s.lag.loader.pending === 0 && Object.values(s.monitor_lag).every((l: any) => l.pending === 0);
        return c?.commit_time === last!.at && settled ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'the monitor to show the warehouse consistent as of the last transaction' },
    );
    expect(status.source_consistency).toEqual([
      {
        source: 'shop_db',
        lsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
        commit_time: last!.at,
        waiting_batches: 0,
        oldest_waiting_seconds: null,
      },
    ]);
    const records = CUSTOMERS + ORDERS * 2 + lines; // snapshot rows, orders, customer updates, lines
    expect(status.accepted).toBe(records);
    const loaded = Object.values(status.tables as Record<string, { loaded: number }>).reduce((n, t) => n + t.loaded, 0);
    expect(loaded).toBe(records);
    expect(status.filtered).toBe(0);
    expect(status.accepted).toBe(loaded + status.filtered + status.dead_lettered.transform + status.dead_lettered.load);
    // Per dataset, each still accounts for every record of the source.
    for (const d of Object.values(status.datasets as Record<string, { records: number; filtered: number; dead_lettered: number }>)) {
      expect(d.records + d.filtered + d.dead_lettered).toBe(records);
    }
  });
});
