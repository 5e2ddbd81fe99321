/**
 * The four load counts (docs/warehouse.md, Load counts) of every PostgreSQL load mode against a
 * real PostgreSQL: one sequence of flushes (new keys, the same values again, changed values,
 * repeats of a key within a flush, a redelivered message) feeds a table of each mode; the ledger's
 * counts must match what each table shows, and a row counted unchanged must not be rewritten
 * (same `_loaded_at`, same row version `xmin`).
 */
import { stopAll } from '@tributary/testkit';
import { BatchLoader, type LoadItem, type RejectedRow, type TableSummary } from '../src/batch-loader';
import { at, message, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: counts
sources:
  in: { kind: push }
datasets:
  items:
    from: in
    fields:
      id: { type: string, required: true }
      v: integer
      note: string
      at: { type: timestamp, required: true }
  per_min:
    from: items
    steps:
      - window: { tumbling: 1m, time: at, key: [id], aggregate: { n: count(), total: sum(v) } }
tables:
  app_log: { from: items, mode: append }
  app_first: { from: items, mode: append, key: [id] }
  ups: { from: items, mode: upsert, key: [id] }
  ups_part: { from: items, mode: upsert, key: [id, at], partition: { by: at, interval: day } }
  dim: { from: items, mode: scd2, key: [id], track: [v] }
  acc: { from: items, mode: accumulating, key: [id], order_by: at, columns: { v: max, note: latest } }
  agg: { from: per_min, mode: aggregate }
`;

const ITEM_TABLES = ['app_log', 'app_first', 'ups', 'ups_part', 'dim', 'acc'] as const;

jest.setTimeout(60_000);

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

const T = at(0);
const item = (id: string, v: number, note = 'n'): Record<string, unknown> => ({ id, v, note, at: T });

async function flush(items: LoadItem[]): Promise<Map<string, TableSummary>> {
  const summaries = await new BatchLoader(w.pool, w.pipeline).load(items, noRejects);
  return new Map(summaries.map((s) => [s.table, s]));
}

type Counts = [inserted: number, updated: number, unchanged: number, skipped: number];

/** The ledger's counts of one message, per table. */
async function ledger(msgId: string): Promise<Record<string, Counts>> {
  const rows = (
    await w.pool.query(
      `SELECT table_name, records, written, inserted, updated, unchanged, skipped FROM tributary.load_ledger WHERE msg_id = $1`,
      [msgId],
    )
  ).rows;
  const out: Record<string, Counts> = {};
  for (const r of rows) {
    // The counts of a message are its records, and written keeps its meaning.
    expect(r.inserted + r.updated + r.unchanged + r.skipped).toBe(r.records);
    expect(r.written).toBe(r.inserted + r.updated);
    out[r.table_name] = [r.inserted, r.updated, r.unchanged, r.skipped];
  }
  return out;
}

/** Row version and load time of every row of `table`, by a stable description of the row. */
async function versions(table: string): Promise<Map<string, string>> {
  const key = table === 'dim' ? `id || '@' || valid_from::text` : table === 'app_log' ? `_msg_id || id` : 'id';
  const rows = (await w.pool.query(`SELECT ${key} AS k, xmin::text || ' ' || _loaded_at::text AS ver FROM warehouse.${table}`)).rows;
  return new Map(rows.map((r) => [r.k as string, r.ver as string]));
}

describe('load counts', () => {
  it('count inserted, updated, unchanged and skipped per message as each table shows them', async () => {
    const s1 = await flush([message('m1', 'items', [item('a', 1), item('b', 1)])]);
    expect(await ledger('m1')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [2, 0, 0, 0],
      ups: [2, 0, 0, 0],
      ups_part: [2, 0, 0, 0],
      dim: [2, 0, 0, 0],
      acc: [2, 0, 0, 0],
    });
    expect(s1.get('ups')).toMatchObject({ records: 2, written: 2, inserted: 2, updated: 0, unchanged: 0, skipped: 0 });
    const before = new Map(await Promise.all(ITEM_TABLES.map(async (t) => [t, await versions(t)] as const)));

    // The same values again: nothing to write but the plain append; unchanged rows keep their version.
    await flush([message('m2', 'items', [item('a', 1), item('b', 1)])]);
    expect(await ledger('m2')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [0, 0, 0, 2],
      ups: [0, 0, 2, 0],
      ups_part: [0, 0, 2, 0],
      dim: [0, 0, 2, 0],
      acc: [0, 0, 2, 0],
    });
    for (const t of ['app_first', 'ups', 'ups_part', 'dim', 'acc'] as const) expect(await versions(t)).toEqual(before.get(t));
    expect((await w.pool.query(`SELECT DISTINCT _msg_id FROM warehouse.ups`)).rows).toEqual([{ _msg_id: 'm1' }]);

    // Changed values: a tracked change (a new scd2 version) for a, an untracked one for b.
    await flush([message('m3', 'items', [item('a', 2), item('b', 1, 'x')])]);
    expect(await ledger('m3')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [0, 0, 0, 2],
      ups: [0, 2, 0, 0],
      ups_part: [0, 2, 0, 0],
      dim: [1, 1, 0, 0],
      acc: [0, 2, 0, 0],
    });

    // A key three times in one flush, across two messages: the first (append) or the last (upsert,
    // scd2 at one time) wins, the others are skipped; accumulating merges all three.
    await flush([message('m4', 'items', [item('c', 1), item('c', 2)]), message('m5', 'items', [item('c', 3)])]);
    expect(await ledger('m4')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [1, 0, 0, 1],
      ups: [0, 0, 0, 2],
      ups_part: [0, 0, 0, 2],
      dim: [0, 0, 0, 2],
      acc: [0, 2, 0, 0],
    });
    expect(await ledger('m5')).toEqual({
      app_log: [1, 0, 0, 0],
      app_first: [0, 0, 0, 1],
      ups: [1, 0, 0, 0],
      ups_part: [1, 0, 0, 0],
      dim: [1, 0, 0, 0],
      acc: [1, 0, 0, 0],
    });

    // A redelivered message finds its ledger rows: counted nowhere again, nothing written.
    const replay = await flush([message('m3', 'items', [item('a', 2), item('b', 1, 'x')])]);
    expect(replay.get('ups')).toMatchObject({ messages: 0, replayed: 1, records: 0, inserted: 0, updated: 0, unchanged: 0, skipped: 0 });
    expect(await ledger('m3')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [0, 0, 0, 2],
      ups: [0, 2, 0, 0],
      ups_part: [0, 2, 0, 0],
      dim: [1, 1, 0, 0],
      acc: [0, 2, 0, 0],
    });

    // Reconcile: per table, the rows are the inserts, and the table shows what the counts say.
    const sums = (
      await w.pool.query(
        `SELECT table_name, sum(inserted)::int AS inserted, sum(updated)::int AS updated, sum(unchanged)::int AS unchanged, sum(skipped)::int AS skipped
         FROM tributary.load_ledger GROUP BY table_name`,
      )
    ).rows;
    for (const s of sums.filter((r) => r.table_name !== 'agg')) {
      const n = (await w.pool.query(`SELECT count(*)::int AS n FROM warehouse.${s.table_name as string}`)).rows[0].n;
      expect([s.table_name, n]).toEqual([s.table_name, s.inserted]);
    }
    expect((await w.pool.query(`SELECT id, v::int, note FROM warehouse.ups ORDER BY id`)).rows).toEqual([
      { id: 'a', v: 2, note: 'n' },
      { id: 'b', v: 1, note: 'x' },
      { id: 'c', v: 3, note: 'n' },
    ]);
    expect((await w.pool.query(`SELECT id, v::int, note, is_current FROM warehouse.dim ORDER BY id, valid_from`)).rows).toEqual([
      { id: 'a', v: 1, note: 'n', is_current: false },
      { id: 'a', v: 2, note: 'n', is_current: true },
      { id: 'b', v: 1, note: 'x', is_current: true },
      { id: 'c', v: 3, note: 'n', is_current: true },
    ]);
    expect((await w.pool.query(`SELECT id, v::int, note FROM warehouse.acc ORDER BY id`)).rows).toEqual([
      { id: 'a', v: 2, note: 'n' },
      { id: 'b', v: 1, note: 'x' },
      { id: 'c', v: 3, note: 'n' },
    ]);
  });

  it('counts a message loaded row by row (one record refused) the same way, leaving the refused record out', async () => {
    // Runs after the sequence above: a holds v 2, note n everywhere.
    const rejected: RejectedRow[] = [];
    await new BatchLoader(w.pool, w.pipeline).load(
      [message('r1', 'items', [item('a', 2), item('e', 1), item('f', 1e20)])],
      async (rows) => {
        rejected.push(...rows);
      },
    );
    expect(rejected.map((r) => [r.table.name, r.index]).sort()).toEqual(ITEM_TABLES.map((t) => [t, 2]).sort());
    expect(await ledger('r1')).toEqual({
      app_log: [2, 0, 0, 0],
      app_first: [1, 0, 0, 1],
      ups: [1, 0, 1, 0],
      ups_part: [1, 0, 1, 0],
      dim: [1, 0, 1, 0],
      acc: [1, 0, 1, 0],
    });
  });

  it('counts an aggregate partial inserted when it creates its row and updated when it merges into one', async () => {
    const partial = (id: string, n: number): Record<string, unknown> => ({
      window_start: T,
      window_end: at(1),
      record_count: n,
      id,
      n,
      total: n,
      max_event_time: T,
      late_records: 0,
      final: false,
    });
    await flush([message('p1', 'per_min', [partial('a', 2), partial('b', 1)]), message('p2', 'per_min', [partial('a', 3)])]);
    await flush([message('p3', 'per_min', [partial('b', 4)])]);
    expect((await ledger('p1')).agg).toEqual([2, 0, 0, 0]);
    expect((await ledger('p2')).agg).toEqual([0, 1, 0, 0]);
    expect((await ledger('p3')).agg).toEqual([0, 1, 0, 0]);
    expect((await w.pool.query(`SELECT id, n::int FROM warehouse.agg ORDER BY id`)).rows).toEqual([
      { id: 'a', n: 5 },
      { id: 'b', n: 5 },
    ]);
  });
});
