import { CutoffFilter, type SnapshotCutoff } from './catch-up-snapshot';
import { parseLsn } from './lsn';

const INT_KEY = [{ name: 'id', oid: 23, type: 'integer' }];
const meta = (op: string, seq = 0) => ({ _table: 'public.t', _op: op, _lsn: '0/50', _seq: seq, _commit_at: '2026-12-07T00:00:00.000000Z' });

/** Rows of public.t with id > 100 were read in a snapshot at 0/100; public.u whole at 0/100. */
const CUTOFFS: SnapshotCutoff[] = [
  { table: 'public.t', key: INT_KEY, after: ['100'], lsn: '0/100' },
  { table: 'public.u', key: [], lsn: '0/100' },
];
// Integer keys never ask the server; anything else would.
const filter = new CutoffFilter(CUTOFFS, () => Promise.reject(new Error('integer keys are compared here')));
const before = parseLsn('0/80');
const after = parseLsn('0/100');

describe('CutoffFilter', () => {
  it('drops a change committed before the snapshot to a row the snapshot read, passes the rest', async () => {
    expect(await filter.apply({ id: 101, ...meta('insert') }, before)).toBeUndefined();
    expect(await filter.apply({ id: 101, ...meta('update') }, before)).toBeUndefined();
    expect(await filter.apply({ id: 101, ...meta('delete') }, before)).toBeUndefined();
    // Not in the re-read range (read in the slot's own snapshot): published.
    expect(await filter.apply({ id: 100, ...meta('update') }, before)).toEqual({ id: 100, ...meta('update') });
    // Committed at or after the snapshot: published.
    expect(await filter.apply({ id: 101, ...meta('update') }, after)).toEqual({ id: 101, ...meta('update') });
    // A table read whole, and a table without a cut-off.
    expect(await filter.apply({ id: 1, ...meta('insert'), _table: 'public.u' }, before)).toBeUndefined();
    expect(await filter.apply({ id: 1, ...meta('insert'), _table: 'public.v' }, before)).toEqual({
      id: 1,
      ...meta('insert'),
      _table: 'public.v',
    });
  });

  it('turns a key update moving a row into the re-read range into the delete of its old key, and the other way into an insert', async () => {
    const into = { id: 500, v: 1, ...meta('update', 3), _before: { id: 7, v: null } };
    expect(await filter.apply(into, before)).toEqual({ id: 7, ...meta('delete', 3) });
    const out = { id: 7, v: 1, ...meta('update', 4), _before: { id: 500, v: null } };
    expect(await filter.apply(out, before)).toEqual({ id: 7, v: 1, ...meta('insert', 4) });
    const within = { id: 600, v: 1, ...meta('update'), _before: { id: 500 } };
    expect(await filter.apply(within, before)).toBeUndefined();
    const outside = { id: 8, v: 1, ...meta('update'), _before: { id: 7 } };
    expect(await filter.apply(outside, before)).toBe(outside);
  });

  it('stacks the cut-offs of a snapshot resumed twice: each range by its own snapshot', async () => {
    // Rows > 100 read at 0/100, then (after a second crash) rows > 200 at 0/200.
    const twice = new CutoffFilter([...CUTOFFS, { table: 'public.t', key: INT_KEY, after: ['200'], lsn: '0/200' }], () =>
      Promise.reject(new Error('not asked')),
    );
    expect(twice.until).toBe(parseLsn('0/200'));
    expect(await twice.apply({ id: 150, ...meta('update') }, parseLsn('0/150'))).toEqual({ id: 150, ...meta('update') });
    expect(await twice.apply({ id: 250, ...meta('update') }, parseLsn('0/150'))).toBeUndefined();
    expect(await twice.apply({ id: 150, ...meta('update') }, parseLsn('0/90'))).toBeUndefined();
  });

  it('asks the server to order non-integer keys, with their types and collations', async () => {
    const asked: string[] = [];
    const text = new CutoffFilter(
      [
        {
          table: 'public.t',
          key: [{ name: 'code', oid: 25, type: 'text', collation: '"pg_catalog"."default"' }],
          after: ["k'5"],
          lsn: '0/100',
        },
      ],
      async (sql) => {
        asked.push(sql);
        return true;
      },
    );
    expect(await text.apply({ code: 'z', ...meta('insert') }, before)).toBeUndefined();
    expect(asked).toEqual([
      `SELECT ROW('z'::text COLLATE "pg_catalog"."default") > ROW('k''5'::text COLLATE "pg_catalog"."default") AS after`,
    ]);
  });
});
