/**
 * The loader's exactly-once effect against a real PostgreSQL: the ledger skips redelivered
 * messages (also when two loaders race on one), modes merge as documented, and data the
 * warehouse refuses is isolated to the bad records.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { ensureTable } from '@tributary/warehouse/table-ddl';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { BatchLoader, type LoadItem, type RejectedRow } from '../src/batch-loader';
import { TableWriter } from '../src/postgres/table-writer';

const SPEC = `
pipeline: shop
sources:
  orders_in: { kind: push }
datasets:
  orders:
    from: [orders_in]
    fields:
      order_id: { type: string, required: true }
      status: string
      amount: number
      qty: integer
tables:
  fact_order_event: { from: orders, mode: append }
  fact_order_first: { from: orders, mode: append, key: [order_id] }
  dim_order: { from: orders, mode: upsert, key: [order_id] }
`;

let pg: PostgresServer;
let pool: Pool;
let pipeline: Pipeline;

const item = (msgId: string, seq: number, records: Record<string, unknown>[]): LoadItem => ({
  msgId,
  dataset: 'orders',
  seq,
  ingestedAt: Date.now(),
  records,
});
const noRejects = async (rows: RejectedRow[]): Promise<void> => {
  if (rows.length) throw new Error(`unexpected rejects: ${rows.map((r) => r.error.message).join('; ')}`);
};

beforeAll(async () => {
  pg = await PostgresServer.start();
  pool = new Pool({ connectionString: await pg.createDatabase('wh'), max: 4 });
  // An idle connection dropped at teardown must not fail the suite as an unhandled 'error'.
  pool.on('error', () => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-loader-'));
  writeFileSync(path.join(dir, 'shop.yaml'), SPEC);
  pipeline = loadPipelineFile(path.join(dir, 'shop.yaml'));
  await pool.query(BOOKKEEPING_DDL);
  for (const t of pipeline.tables) await ensureTable(pool, pipeline, t);
});

afterAll(async () => {
  await pool?.end();
  await stopAll();
});

beforeEach(async () => {
  await pool.query('TRUNCATE warehouse.fact_order_event, warehouse.fact_order_first, warehouse.dim_order, tributary.load_ledger');
});

async function count(table: string): Promise<number> {
  return (await pool.query(`SELECT count(*)::int AS n FROM warehouse.${table}`)).rows[0].n;
}

describe('BatchLoader', () => {
  it('loads a message once: a redelivery finds its ledger row and writes nothing', async () => {
    const loader = new BatchLoader(pool, pipeline);
    const m = item('in-1:orders', 1, [
      { order_id: 'a', status: 'new', amount: 10, qty: 1 },
      { order_id: 'b', status: 'new', amount: 5, qty: 2 },
    ]);
    const first = await loader.load([m], noRejects);
    const again = await loader.load([m], noRejects);
    expect(first.find((s) => s.table === 'fact_order_event')).toMatchObject({ messages: 1, records: 2, written: 2, replayed: 0 });
    expect(again.find((s) => s.table === 'fact_order_event')).toMatchObject({ messages: 0, records: 0, replayed: 1 });
    expect(await count('fact_order_event')).toBe(2);
    const ledger = await pool.query('SELECT table_name, records, written, skipped FROM tributary.load_ledger ORDER BY table_name');
    expect(ledger.rows).toEqual([
      { table_name: 'dim_order', records: 2, written: 2, skipped: 0 },
      { table_name: 'fact_order_event', records: 2, written: 2, skipped: 0 },
      { table_name: 'fact_order_first', records: 2, written: 2, skipped: 0 },
    ]);
  });

  it('writes a message once when two loaders load it at the same moment', async () => {
    const a = new BatchLoader(pool, pipeline);
    const b = new BatchLoader(pool, pipeline);
    const m = item(
      'race:orders',
      7,
      Array.from({ length: 500 }, (_, i) => ({ order_id: `r${i}`, status: 'new', amount: i, qty: 1 })),
    );
    await Promise.all([a.load([m], noRejects), b.load([m], noRejects)]);
    expect(await count('fact_order_event')).toBe(500);
    expect(await count('dim_order')).toBe(500);
  });

  it('append with a key keeps the first record per key (stream order) and counts the rest as skipped', async () => {
    const loader = new BatchLoader(pool, pipeline);
    await loader.load([item('m1', 1, [{ order_id: 'k', status: 'first', amount: 1, qty: 1 }])], noRejects);
    await loader.load(
      [
        item('m2', 2, [
          { order_id: 'k', status: 'second', amount: 2, qty: 1 },
          { order_id: 'j', status: 'j1', amount: 3, qty: 1 },
          { order_id: 'j', status: 'j2', amount: 4, qty: 1 },
        ]),
      ],
      noRejects,
    );
    const rows = (await pool.query('SELECT order_id, status FROM warehouse.fact_order_first ORDER BY order_id')).rows;
    expect(rows).toEqual([
      { order_id: 'j', status: 'j1' },
      { order_id: 'k', status: 'first' },
    ]);
    const l = (
      await pool.query(`SELECT written, skipped FROM tributary.load_ledger WHERE table_name = 'fact_order_first' AND msg_id = 'm2'`)
    ).rows[0];
    expect(l).toEqual({ written: 1, skipped: 2 });
  });

  it('plain appends COPY straight into the table; a repeated key makes the flush, and the next ones, take the merge', async () => {
    const writer = new TableWriter(
      pipeline,
      pipeline.tables.find((t) => t.name === 'fact_order_first')!,
    );
    // A session of its own: the pool's have staging tables of earlier tests.
    const client = await pool.connect();
    await client.query('DISCARD TEMP');
    const inTx = async (records: Record<string, unknown>[], msgId: string): Promise<Map<string, number>> => {
      await client.query('BEGIN');
      try {
        const written = await writer.write(client, [{ msgId, records, ingestedAt: Date.now() }]);
        await client.query('COMMIT');
        return written;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    };
    // The merge path creates the session's staging table; the direct path never does.
    const staged = async (): Promise<number> =>
      (await client.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'`)).rows[0].n;
    try {
      expect(
        await inTx(
          [
            { order_id: 'a', status: 's', amount: 1, qty: 1 },
            { order_id: 'b', status: 's', amount: 2, qty: 1 },
          ],
          'd1',
        ),
      ).toEqual(new Map([['d1', { inserted: 2, updated: 0, unchanged: 0 }]]));
      expect(writer.directFallbacks).toBe(0);
      expect(await staged()).toBe(0);
      // 'a' is loaded already: the COPY fails, the savepoint rolls it back, the merge skips 'a' only.
      expect(
        await inTx(
          [
            { order_id: 'c', status: 's', amount: 3, qty: 1 },
            { order_id: 'a', status: 'again', amount: 9, qty: 1 },
          ],
          'd2',
        ),
      ).toEqual(new Map([['d2', { inserted: 1, updated: 0, unchanged: 0 }]]));
      expect(writer.directFallbacks).toBe(1);
      expect(await staged()).toBe(1);
      // A value the table refuses fails on both paths, and the transaction is left to the caller.
      await expect(inTx([{ order_id: 'e', status: 's', amount: 1, qty: 1e20 }], 'd3')).rejects.toMatchObject({ code: '22003' });
      const rows = (await pool.query('SELECT order_id, status, _msg_id FROM warehouse.fact_order_first ORDER BY order_id')).rows;
      expect(rows).toEqual([
        { order_id: 'a', status: 's', _msg_id: 'd1' },
        { order_id: 'b', status: 's', _msg_id: 'd1' },
        { order_id: 'c', status: 's', _msg_id: 'd2' },
      ]);
    } finally {
      client.release(true);
    }
  });

  it('upserts of keys not stored COPY straight into the table; a stored key makes the flush take the merge', async () => {
    const writer = new TableWriter(
      pipeline,
      pipeline.tables.find((t) => t.name === 'dim_order')!,
    );
    const client = await pool.connect();
    await client.query('DISCARD TEMP');
    const inTx = async (records: Record<string, unknown>[], msgId: string): Promise<Map<string, unknown>> => {
      await client.query('BEGIN');
      try {
        const written = await writer.write(client, [{ msgId, records, ingestedAt: Date.now() }]);
        await client.query('COMMIT');
        return written;
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    };
    const staged = async (): Promise<number> =>
      (await client.query(`SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r'`)).rows[0].n;
    try {
      expect(
        await inTx(
          [
            { order_id: 'a', status: 'new', amount: 1, qty: 1 },
            { order_id: 'b', status: 'new', amount: 2, qty: 1 },
          ],
          'u1',
        ),
      ).toEqual(new Map([['u1', { inserted: 2, updated: 0, unchanged: 0 }]]));
      expect(writer.directFallbacks).toBe(0);
      expect(await staged()).toBe(0);
      // 'a' is stored: the COPY fails, the savepoint rolls it back, the merge updates 'a' and inserts 'c'.
      expect(
        await inTx(
          [
            { order_id: 'c', status: 'new', amount: 3, qty: 1 },
            { order_id: 'a', status: 'paid', amount: 1, qty: 1 },
          ],
          'u2',
        ),
      ).toEqual(new Map([['u2', { inserted: 1, updated: 1, unchanged: 0 }]]));
      expect(writer.directFallbacks).toBe(1);
      expect(await staged()).toBe(1);
      const rows = (await pool.query('SELECT order_id, status, _msg_id FROM warehouse.dim_order ORDER BY order_id')).rows;
      expect(rows).toEqual([
        { order_id: 'a', status: 'paid', _msg_id: 'u2' },
        { order_id: 'b', status: 'new', _msg_id: 'u1' },
        { order_id: 'c', status: 'new', _msg_id: 'u2' },
      ]);
    } finally {
      client.release(true);
    }
  });

  it('a flush of many COPY chunks: a stored key early in the first fails the direct COPY mid-stream, the merge keeps stream order across chunks', async () => {
    // About 60 bytes of COPY text per row: 20,000 rows are some twenty 64 KiB chunks.
    const rows = (from: number, n: number, status: string): Record<string, unknown>[] =>
      Array.from({ length: n }, (_, i) => ({ order_id: `c${from + i}`, status, amount: from + i, qty: 1 }));
    const loader = new BatchLoader(pool, pipeline);
    await loader.load([item('c1', 1, rows(0, 1, 'first'))], noRejects);
    // c0 is stored (first row of the flush); c5 repeats at the far end of the flush, many chunks later.
    const later = [...rows(0, 10_000, 'second'), ...rows(10_000, 10_000, 'second'), { order_id: 'c5', status: 'last', amount: 5, qty: 1 }];
    const s = await loader.load([item('c2', 2, later)], noRejects);
    expect(s.find((x) => x.table === 'fact_order_first')).toMatchObject({ records: 20_001, inserted: 19_999, skipped: 2 });
    expect(s.find((x) => x.table === 'dim_order')).toMatchObject({ records: 20_001, inserted: 19_999, updated: 1, skipped: 1 });
    expect(await count('fact_order_event')).toBe(20_002);
    const first = await pool.query(
      `SELECT order_id, status FROM warehouse.fact_order_first WHERE order_id IN ('c0', 'c5', 'c19999') ORDER BY order_id`,
    );
    expect(first.rows).toEqual([
      { order_id: 'c0', status: 'first' },
      { order_id: 'c19999', status: 'second' },
      { order_id: 'c5', status: 'second' },
    ]);
    const dim = await pool.query(`SELECT order_id, status FROM warehouse.dim_order WHERE order_id IN ('c0', 'c5') ORDER BY order_id`);
    expect(dim.rows).toEqual([
      { order_id: 'c0', status: 'second' },
      { order_id: 'c5', status: 'last' },
    ]);
    // The session is usable after the failed COPY: the next flush loads.
    await loader.load([item('c3', 3, rows(30_000, 3, 'third'))], noRejects);
    expect(await count('fact_order_first')).toBe(20_003);
  });

  it('upsert keeps the latest record per key in stream order, within a flush and across flushes', async () => {
    const loader = new BatchLoader(pool, pipeline);
    await loader.load(
      [
        item('u1', 1, [{ order_id: 'x', status: 'new', amount: 1, qty: 1 }]),
        item('u2', 2, [
          { order_id: 'x', status: 'paid', amount: 1, qty: 1 },
          { order_id: 'y', status: 'new', amount: 2, qty: 1 },
        ]),
      ],
      noRejects,
    );
    await loader.load([item('u3', 3, [{ order_id: 'y', status: 'shipped', amount: 2, qty: 1 }])], noRejects);
    const rows = (await pool.query('SELECT order_id, status, _msg_id FROM warehouse.dim_order ORDER BY order_id')).rows;
    expect(rows).toEqual([
      { order_id: 'x', status: 'paid', _msg_id: 'u2' },
      { order_id: 'y', status: 'shipped', _msg_id: 'u3' },
    ]);
  });

  it('loads a message whose records are all filtered as an empty ledger entry', async () => {
    const loader = new BatchLoader(pool, pipeline);
    await loader.load([item('empty', 9, [])], noRejects);
    const l = (
      await pool.query(`SELECT records, written FROM tributary.load_ledger WHERE msg_id = 'empty' AND table_name = 'fact_order_event'`)
    ).rows;
    expect(l).toEqual([{ records: 0, written: 0 }]);
  });

  it('isolates records the warehouse refuses: the good rows of the message load, the bad ones are handed over with their reason', async () => {
    const loader = new BatchLoader(pool, pipeline);
    const bad = item('mixed', 11, [
      { order_id: 'ok1', status: 'new', amount: 1, qty: 1 },
      { order_id: 'big', status: 'new', amount: 1, qty: 1e20 }, // out of bigint range
      { order_id: null, status: 'new', amount: 1, qty: 1 }, // NOT NULL key
      { order_id: 'ok2', status: 'new', amount: 1, qty: 1 },
    ]);
    const rejected: RejectedRow[] = [];
    await loader.load([bad], async (rows) => {
      rejected.push(...rows);
    });
    expect(await count('fact_order_event')).toBe(3); // no key: the null-key record is fine here
    expect(await count('dim_order')).toBe(2);
    const byTable = (t: string) =>
      rejected
        .filter((r) => r.table.name === t)
        .map((r) => r.index)
        .sort();
    expect(byTable('fact_order_event')).toEqual([1]);
    expect(byTable('dim_order')).toEqual([1, 2]);
    expect(rejected.every((r) => r.error.code === 'TRIB_E_LOAD_REJECTED')).toBe(true);
    const l = (await pool.query(`SELECT records FROM tributary.load_ledger WHERE msg_id = 'mixed' AND table_name = 'dim_order'`)).rows[0];
    expect(l.records).toBe(2);
  });

  it('reports an unreachable warehouse as retryable, not as bad data', async () => {
    const dead = new Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    const loader = new BatchLoader(dead, pipeline);
    await expect(loader.load([item('z', 1, [{ order_id: 'z' }])], noRejects)).rejects.toMatchObject({
      code: 'TRIB_E_WAREHOUSE_UNAVAILABLE',
      retryable: true,
    });
    await dead.end();
  });
});
