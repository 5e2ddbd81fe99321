/**
 * The COPY read of the initial snapshot (PostgreSQL writes each record's JSON) gives the same
 * records, cut into the same chunks, as the cursor read (a row object per row, `snapshotRecords`),
 * for every type it renders and their edge values; a table with a type it does not render is read
 * through the cursor. Against a real PostgreSQL, with a snapshot exported by another session.
 */
import { PostgresServer, stopAll } from '@tributary/testkit';
import type { Client } from 'pg';
import { snapshotRecords } from '../src/sources/pg/cdc-records';
import { formatLsn } from '../src/sources/pg/lsn';
import { connectPostgres } from '../src/sources/pg/pg-connection';
import { readSnapshot, type SnapshotChunk, type SnapshotTable } from '../src/sources/pg/snapshot-reader';
import { tableKey } from '../src/sources/pg/table-key';

type Rec = Record<string, unknown>;

const LSN = 0x16b3748n;

let pg: PostgresServer;
let url: string;
const clients: Client[] = [];

beforeAll(async () => {
  pg = await PostgresServer.start();
  url = pg.url('postgres');
  await pg.query(`
    CREATE TABLE every_type (
      i8 bigint, i4 integer, i2 smallint, o oid, b boolean, f8 float8, f4 real, n numeric, n2 numeric(13,2),
      t text, vc varchar(20), bp char(5), nm name, u uuid, d date, tm time, ts timestamp, tz timestamptz,
      "_seq" integer, "Mixed Case" text
    );
    INSERT INTO every_type VALUES
      (0, 1, 2, 3, true, 0.1, 0.1, 0.1, 12.30, 'plain', 'v', 'ab', 'nm', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       '2024-02-29', '03:04:05.123456', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.123456+02', 7, 'x'),
      (9007199254740991, -2147483648, -32768, 4294967295, false, 'NaN', 'Infinity', 'NaN', 99999999999.99,
       'quote " backslash \\ newline
tab	end', '', '', '', NULL, 'infinity', '24:00:00', 'infinity', 'infinity', NULL, NULL),
      (9007199254740992, NULL, NULL, NULL, NULL, '-Infinity', 1e-7, 12345678901234567.89, -0.01,
       'emoji 😀 ctrl ' || chr(1) || ' é', NULL, NULL, NULL, NULL, '0044-03-15 BC', NULL, '-infinity', '-infinity', NULL, NULL),
      (-9223372036854775808, NULL, NULL, NULL, NULL, 1e300, NULL, 0.30000000000000004, NULL,
       NULL, NULL, NULL, NULL, NULL, '10000-01-01', NULL, '0044-03-15 12:00:00 BC', '0044-03-15 12:00:00+00 BC', NULL, NULL),
      (-9007199254740991, NULL, NULL, NULL, NULL, 1.5e-7, NULL, 0.3000000000000000444, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, '10000-01-01 00:00:00', '10000-01-01 00:00:00.5+00', NULL, NULL),
      (1, NULL, NULL, NULL, NULL, 123456789.125, NULL, 1e400, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (2, NULL, NULL, NULL, NULL, NULL, NULL, 1e-400, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (3, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (4, NULL, NULL, NULL, NULL, NULL, NULL, 123.4500, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
      (5, NULL, NULL, NULL, NULL, NULL, NULL, -1e20, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    CREATE TABLE with_jsonb (id int, doc jsonb);
    INSERT INTO with_jsonb VALUES (1, '{"a": [1, 2]}'), (2, NULL);
    CREATE TABLE empty_table (id int);
    CREATE TABLE keyed (region text, id int, v numeric(8,2), PRIMARY KEY (region, id));
    INSERT INTO keyed VALUES ('b', 2, 1.5), ('a', 9, 2), ('b', 1, NULL), ('a', 10, 3), ('c', 1, 4), ('a', 1, 5), ('b', 10, 6);
    CREATE TABLE no_columns ();
    INSERT INTO no_columns DEFAULT VALUES;
    INSERT INTO no_columns DEFAULT VALUES;
  `);
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  await stopAll();
});

/** Exports a snapshot from a session that stays open in its transaction, as the slot's walsender does. */
async function exportSnapshot(): Promise<string> {
  const holder = await connectPostgres(url);
  clients.push(holder);
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  return (await holder.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
}

async function read(snapshot: string, copy: boolean, chunkRows: number): Promise<SnapshotChunk[]> {
  const reader = await connectPostgres(url);
  clients.push(reader);
  const out: SnapshotChunk[] = [];
  const tables = ['every_type', 'public.with_jsonb', 'empty_table', 'no_columns'].map((name) => ({ name }));
  for await (const c of readSnapshot(reader, snapshot, tables, chunkRows, { lsn: formatLsn(LSN), copy })) {
    out.push(c);
  }
  return out;
}

/** A chunk's records as the loader would read them from the message. */
const records = (c: SnapshotChunk): unknown[] =>
  c.lines
    ? c.lines.map((l) => JSON.parse(l) as unknown)
    : snapshotRecords(c.rows!, c.table, LSN, c.at, c.offset).map((r) => JSON.parse(JSON.stringify(r)) as unknown);

it('gives the records of the cursor read, in the same chunks, for every type it renders', async () => {
  const snapshot = await exportSnapshot();
  // Written after the export: neither read sees it.
  await pg.query(`INSERT INTO every_type (i8) VALUES (99)`);
  const viaCopy = await read(snapshot, true, 3);
  const viaCursor = await read(snapshot, false, 3);
  const shape = (cs: SnapshotChunk[]) => cs.map((c) => [c.table, c.chunk, c.offset, (c.lines ?? c.rows)!.length]);
  expect(shape(viaCopy)).toEqual([
    ['public.every_type', 0, 0, 3],
    ['public.every_type', 1, 3, 3],
    ['public.every_type', 2, 6, 3],
    ['public.every_type', 3, 9, 1],
    ['public.with_jsonb', 0, 0, 2],
    ['public.no_columns', 0, 0, 2],
  ]);
  expect(shape(viaCursor)).toEqual(shape(viaCopy));
  // every_type went through COPY, with_jsonb (a type not rendered in SQL) through the cursor.
  expect(viaCopy.map((c) => (c.lines ? 'copy' : 'cursor'))).toEqual(['copy', 'copy', 'copy', 'copy', 'cursor', 'copy']);
  // `_commit_at` is each read's own transaction start; everything else must agree.
  const sameTime = (cs: SnapshotChunk[]) => cs.map((c) => records(c).map((r) => ({ ...(r as object), _commit_at: 'T' })));
  expect(sameTime(viaCopy)).toEqual(sameTime(viaCursor));
  expect(viaCopy.every((c) => records(c).every((r) => (r as { _commit_at: string })._commit_at === c.at))).toBe(true);

  // The renderings the two reads agree on, spelled out for a few values.
  const [first, second, third] = records(viaCopy[0]!) as Record<string, unknown>[];
  expect(first).toMatchObject({
    i8: 0,
    f8: 0.1,
    n: 0.1,
    n2: 12.3,
    bp: 'ab   ',
    ts: '2024-01-02T03:04:05.123456',
    tz: '2024-01-02T01:04:05.123456Z',
  });
  expect(first).toMatchObject({ _table: 'public.every_type', _op: 'read', _lsn: formatLsn(LSN), _seq: 0, 'Mixed Case': 'x' });
  expect(second).toMatchObject({ i8: 9007199254740991, o: 4294967295, f8: 'NaN', f4: 'Infinity', n: 'NaN', d: 'infinity', _seq: 1 });
  expect(second!.t).toBe('quote " backslash \\ newline\ntab\tend');
  expect(third).toMatchObject({ i8: '9007199254740992', n: '12345678901234567.89', d: '0044-03-15 BC', tz: '-infinity' });
  expect(Object.keys(first!).slice(-5)).toEqual(['_table', '_op', '_lsn', '_seq', '_commit_at']);
});

it('reads a table in primary-key order, from after a key on, numbering chunks and rows on from where it resumes', async () => {
  const snapshot = await exportSnapshot();
  const reader = await connectPostgres(url);
  clients.push(reader);
  const key = await tableKey(reader, 'keyed');
  expect(key?.map((c) => [c.name, c.type])).toEqual([
    ['region', 'text'],
    ['id', 'integer'],
  ]);
  const readAll = async (copy: boolean, from: Partial<SnapshotTable>): Promise<SnapshotChunk[]> => {
    const r = await connectPostgres(url);
    clients.push(r);
    const out: SnapshotChunk[] = [];
    for await (const c of readSnapshot(r, snapshot, [{ name: 'keyed', key, ...from }], 2, { lsn: formatLsn(LSN), copy })) out.push(c);
    return out;
  };
  const keys = (cs: SnapshotChunk[]) => cs.flatMap((c) => records(c).map((r) => `${(r as Rec).region}${(r as Rec).id}:${(r as Rec)._seq}`));
  const whole = await readAll(true, {});
  // Key order (text by its collation, then the integer), 2 rows a chunk, each chunk's last key given.
  expect(keys(whole)).toEqual(['a1:0', 'a9:1', 'a10:2', 'b1:3', 'b2:4', 'b10:5', 'c1:6']);
  expect(whole.map((c) => [c.chunk, c.lastKey])).toEqual([
    [0, ['a', '9']],
    [1, ['b', '1']],
    [2, ['b', '10']],
    [3, ['c', '1']],
  ]);
  // Resumed after (a, 10), as chunk 5 and row 3: the same rows from there, through COPY and the cursor.
  const resumed = await readAll(true, { after: ['a', '10'], chunk: 5, offset: 3 });
  expect(keys(resumed)).toEqual(['b1:3', 'b2:4', 'b10:5', 'c1:6']);
  expect(resumed.map((c) => c.chunk)).toEqual([5, 6]);
  const viaCursor = await readAll(false, { after: ['a', '10'], chunk: 5, offset: 3 });
  expect(keys(viaCursor)).toEqual(keys(resumed));
  expect(viaCursor.map((c) => [c.chunk, c.lastKey])).toEqual(resumed.map((c) => [c.chunk, c.lastKey]));
});
