/**
 * `upsert` with a `position` field against a real PostgreSQL: the row of the newest source
 * position wins whatever order records arrive in, across flushes and within one, so a re-read row
 * (a CDC resnapshot, tagged with the LSN its snapshot was taken at) never overwrites a change or a
 * (soft) delete streamed after it, and LSNs compare as LSNs (`9/0` before `10/0`), not as text.
 */
import { stopAll } from '@tributary/testkit';
import { BatchLoader, type LoadItem, type RejectedRow } from '../src/batch-loader';
import { message, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: pos
sources:
  in: { kind: push }
datasets:
  rows:
    from: in
    fields:
      id: { type: integer, required: true }
      name: string
      phone: string
      op: string
      lsn: string
  events:
    from: in
    fields:
      id: { type: integer, required: true }
      name: string
      seq: integer
tables:
  by_lsn: { from: rows, mode: upsert, key: [id], position: lsn }
  by_seq: { from: events, mode: upsert, key: [id], position: seq }
  plain: { from: rows, mode: upsert, key: [id] }
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

let n = 0;
const msg = (dataset: string, records: Record<string, unknown>[]): LoadItem => message(`m${++n}`, dataset, records);

async function flush(...items: LoadItem[]): Promise<void> {
  await new BatchLoader(w.pool, w.pipeline).load(items, noRejects);
}

async function table(name: string): Promise<Record<string, unknown>[]> {
  const cols = name === 'by_seq' ? 'id::int AS id, name, seq::int AS seq' : 'id::int AS id, name, phone, op, lsn';
  return (await w.pool.query(`SELECT ${cols} FROM warehouse.${name} ORDER BY id`)).rows;
}

/** The ledger's counts of the last message loaded into `tableName`. */
async function counts(msgId: string, tableName: string): Promise<[number, number, number]> {
  const r = await w.pool.query(`SELECT inserted, updated, unchanged FROM tributary.load_ledger WHERE msg_id = $1 AND table_name = $2`, [
    msgId,
    tableName,
  ]);
  const row = r.rows[0];
  return [row.inserted, row.updated, row.unchanged];
}

const row = (id: number, name: string, lsn: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  name,
  op: 'insert',
  lsn,
  ...extra,
});

test('a re-read row fills the rows it is newer than and leaves a change streamed after it alone', async () => {
  // The rows as first streamed, before the source had a phone column.
  await flush(msg('rows', [row(1, 'ann', '0/100'), row(2, 'bob', '0/110'), row(3, 'cy', '0/120'), row(4, 'dee', '0/130')]));
  // Streamed after the re-read's snapshot (0/200): ann renamed, dee deleted (a soft delete: the op column).
  await flush(msg('rows', [row(1, 'ann b', '0/300', { phone: '111' }), { id: 4, op: 'delete', lsn: '0/310' }]));
  // The re-read, taken at 0/200, arrives late: it fills bob and cy, and must not touch ann or dee.
  const reread = msg('rows', [
    row(1, 'ann', '0/200', { phone: '100', op: 'read' }),
    row(2, 'bob', '0/200', { phone: '222', op: 'read' }),
    row(3, 'cy', '0/200', { phone: '333', op: 'read' }),
    row(4, 'dee', '0/200', { phone: '444', op: 'read' }),
  ]);
  await flush(reread);
  expect(await table('by_lsn')).toEqual([
    { id: 1, name: 'ann b', phone: '111', op: 'insert', lsn: '0/300' },
    { id: 2, name: 'bob', phone: '222', op: 'read', lsn: '0/200' },
    { id: 3, name: 'cy', phone: '333', op: 'read', lsn: '0/200' },
    { id: 4, name: null, phone: null, op: 'delete', lsn: '0/310' },
  ]);
  // Counted: two rows updated, the two older ones unchanged (nothing vanishes from the counts).
  expect(await counts(reread.msgId, 'by_lsn')).toEqual([0, 2, 2]);
  // Without a position the same arrival order lets the stale re-read win (what `position` is for).
  expect((await table('plain')).find((r) => r.id === 1)).toMatchObject({ name: 'ann', phone: '100' });

  // The same re-read again (a resnapshot redone after a crash): nothing changes.
  const again = msg('rows', [row(2, 'bob', '0/200', { phone: '222', op: 'read' }), row(3, 'cy', '0/200', { phone: '333', op: 'read' })]);
  await flush(again);
  expect(await counts(again.msgId, 'by_lsn')).toEqual([0, 0, 2]);
});

test('within one flush the highest position wins, not the latest in stream order', async () => {
  await flush(
    msg('rows', [row(10, 'change', '0/500', { phone: '1' })]),
    msg('rows', [row(10, 'reread', '0/400', { phone: '2', op: 'read' }), row(11, 'new', '0/400', { op: 'read' })]),
  );
  expect((await table('by_lsn')).filter((r) => (r.id as number) >= 10)).toEqual([
    { id: 10, name: 'change', phone: '1', op: 'insert', lsn: '0/500' },
    { id: 11, name: 'new', phone: null, op: 'read', lsn: '0/400' },
  ]);
});

test('LSNs compare as pg_lsn: 10/0 is after 9/FFFFFFFF although it sorts before it as text', async () => {
  await flush(msg('rows', [row(20, 'newer', '10/0')]));
  await flush(msg('rows', [row(20, 'older', '9/FFFFFFFF')]));
  expect((await table('by_lsn')).find((r) => r.id === 20)).toMatchObject({ name: 'newer', lsn: '10/0' });
});

test('a record without a position never replaces a row that has one; equal positions take the later record', async () => {
  await flush(msg('rows', [row(30, 'positioned', '0/700')]));
  await flush(msg('rows', [{ id: 30, name: 'no position', op: 'insert', lsn: null }]));
  expect((await table('by_lsn')).find((r) => r.id === 30)).toMatchObject({ name: 'positioned' });
  // Two changes of one source transaction share its commit LSN: stream order decides between them.
  await flush(msg('rows', [row(30, 'same txn, first', '0/800')]), msg('rows', [row(30, 'same txn, second', '0/800')]));
  expect((await table('by_lsn')).find((r) => r.id === 30)).toMatchObject({ name: 'same txn, second' });
});

test('an integer position compares as a number', async () => {
  await flush(msg('events', [{ id: 1, name: 'nine', seq: 9 }]));
  await flush(msg('events', [{ id: 1, name: 'ten', seq: 10 }]));
  await flush(msg('events', [{ id: 1, name: 'eight', seq: 8 }]));
  expect(await table('by_seq')).toEqual([{ id: 1, name: 'ten', seq: 10 }]);
});

test('a malformed LSN is refused even when its key is new (the direct COPY would store it as text)', async () => {
  const rejected: RejectedRow[] = [];
  await new BatchLoader(w.pool, w.pipeline).load([msg('rows', [row(900, 'eve', '0/900'), row(901, 'fay', 'not-an-lsn')])], async (rows) => {
    rejected.push(...rows);
  });
  expect(rejected.filter((r) => r.table.name === 'by_lsn').map((r) => [r.index, r.error.code])).toEqual([[1, 'TRIB_E_LOAD_REJECTED']]);
  const ids = (await w.pool.query('SELECT id::int AS id FROM warehouse.by_lsn WHERE id >= 900 ORDER BY id')).rows.map((r) => r.id);
  expect(ids).toEqual([900]);
});
