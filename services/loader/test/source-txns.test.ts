/**
 * Source transactions stay whole in the loader (docs/design.md, Source transactions), against a
 * real PostgreSQL: the processed messages of one CDC batch (two raw parts, three messages, two
 * tables) loaded in separate flushes show nothing until the last one, then everything in its
 * commit; a message redelivered after its group loaded changes nothing; two loaders (replicas)
 * given the last two messages of many groups at once load each group exactly once; a flush
 * holding a whole group loads it without staging; a message dead-lettered whole still completes
 * its group.
 */
import type { TxnGroup } from '@tributary/contract/wire';
import { stopAll } from '@tributary/testkit';
import { BatchLoader, type LoadItem } from '../src/batch-loader';
import { message, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: shop
sources:
  db: { kind: push }
datasets:
  orders:
    from: db
    fields: { id: { type: integer, required: true } }
  lines:
    from: db
    fields: { order_id: { type: integer, required: true }, line_no: integer }
tables:
  orders: { from: orders, mode: append }
  lines: { from: lines, mode: append }
`;

jest.setTimeout(60_000);

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

/** A processed message of group `g`: from raw part `part` of `parts`, which gave `outputs` messages. */
function grouped(
  g: string,
  part: number,
  parts: number,
  outputs: number,
  msgId: string,
  dataset: string,
  records: Record<string, unknown>[],
): LoadItem {
  const txn: TxnGroup = {
    group: `shop/db:cdc:${g}`,
    source: 'db',
    part,
    parts,
    outputs,
    lsn: '0/16B3748',
    commitAt: '2026-12-06T10:11:12.345678Z',
  };
  const m = message(msgId, dataset, records);
  return { ...m, txn, body: Buffer.from(records.map((r) => JSON.stringify(r)).join('\n')) };
}

/** One order with `lines` lines, as the three messages of a two-part batch. */
function order(g: string, id: number, lines: number): LoadItem[] {
  const all = Array.from({ length: lines }, (_, i) => ({ order_id: id, line_no: i + 1 }));
  const half = Math.ceil(lines / 2);
  return [
    grouped(g, 1, 2, 2, `${g}:0:orders`, 'orders', [{ id }]),
    grouped(g, 1, 2, 2, `${g}:0:lines`, 'lines', all.slice(0, half)),
    grouped(g, 2, 2, 1, `${g}:1:lines`, 'lines', all.slice(half)),
  ];
}

const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await w.pool.query(sql, params)).rows[0].n);
const loader = (): BatchLoader => new BatchLoader(w.pool, w.pipeline);

describe('source transactions in the loader', () => {
  it('shows nothing of a batch until its last message is loaded, then all of it, once', async () => {
    const [o, l1, l2] = order('A', 1, 6);
    const first = await loader().load([o!], noRejects);
    expect(first).toEqual([]);
    await loader().load([l2!], noRejects);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders')).toBe(0);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines')).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts WHERE group_id = 'shop/db:cdc:A'`)).toBe(2);
    const last = await loader().load([l1!], noRejects);
    expect(last.map((s) => [s.table, s.records]).sort()).toEqual([
      ['lines', 6],
      ['orders', 1],
    ]);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines WHERE order_id = 1')).toBe(6);
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts`)).toBe(0);
    expect((await w.pool.query(`SELECT lsn::text, messages FROM tributary.txn_groups WHERE group_id = 'shop/db:cdc:A'`)).rows).toEqual([
      { lsn: '0/16B3748', messages: 3 },
    ]);
    // Redelivered after the group loaded: neither staged again nor loaded twice.
    expect(await loader().load([o!, l2!], noRejects)).toEqual([]);
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts`)).toBe(0);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines WHERE order_id = 1')).toBe(6);
  });

  it('loads every group exactly once when two replicas get its last two messages at the same time', async () => {
    const groups = Array.from({ length: 20 }, (_, i) => order(`C${i}`, 100 + i, 3 + (i % 4)));
    // Each group's first message first, then the other two raced by two loaders.
    for (const g of groups) await loader().load([g[0]!], noRejects);
    const a = loader();
    const b = loader();
    await Promise.all(groups.map((g) => Promise.all([a.load([g[1]!], noRejects), b.load([g[2]!], noRejects)])));
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts`)).toBe(0);
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_groups WHERE group_id LIKE 'shop/db:cdc:C%'`)).toBe(20);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders WHERE id >= 100')).toBe(20);
    const lines = groups.reduce((n, _, i) => n + 3 + (i % 4), 0);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines WHERE order_id >= 100')).toBe(lines);
  });

  it('loads a group whose every message is in the flush without staging it, and drops a copy staged before', async () => {
    const [o, l1, l2] = order('E', 300, 5);
    // An earlier flush staged one of its messages (this flush brings it again).
    await loader().load([o!], noRejects);
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts WHERE group_id = 'shop/db:cdc:E'`)).toBe(1);
    // Staging now fails: the whole group must load without it.
    await w.pool.query(`CREATE FUNCTION refuse_staging() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'staged'; END$$`);
    await w.pool.query('CREATE TRIGGER refuse BEFORE INSERT ON tributary.txn_parts FOR EACH ROW EXECUTE FUNCTION refuse_staging()');
    try {
      const done = await loader().load([l2!, o!, l1!], noRejects);
      expect(done.map((s) => [s.table, s.records]).sort()).toEqual([
        ['lines', 5],
        ['orders', 1],
      ]);
      // Again, as a redelivery: loaded once.
      expect(await loader().load([o!, l1!, l2!], noRejects)).toEqual([]);
    } finally {
      await w.pool.query('DROP TRIGGER refuse ON tributary.txn_parts; DROP FUNCTION refuse_staging()');
    }
    expect(await count(`SELECT count(*) AS n FROM tributary.txn_parts WHERE group_id = 'shop/db:cdc:E'`)).toBe(0);
    expect((await w.pool.query(`SELECT lsn::text, messages FROM tributary.txn_groups WHERE group_id = 'shop/db:cdc:E'`)).rows).toEqual([
      { lsn: '0/16B3748', messages: 3 },
    ]);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders WHERE id = 300')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines WHERE order_id = 300')).toBe(5);
  });

  it('completes a group when one of its messages was dead-lettered whole (it loads with no rows)', async () => {
    const [o, l1, l2] = order('D', 200, 4);
    await loader().load([o!, l1!], noRejects);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders WHERE id = 200')).toBe(0);
    // What the loader's poison path stages for a message it dead-lettered whole.
    await loader().load([{ ...l2!, records: [], body: Buffer.alloc(0) }], noRejects);
    expect(await count('SELECT count(*) AS n FROM warehouse.orders WHERE id = 200')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM warehouse.lines WHERE order_id = 200')).toBe(2);
  });
});
