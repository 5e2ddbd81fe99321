/**
 * A `postgres_cdc` resnapshot of a key range (`--where`) against a private PostgreSQL with
 * wal_level=logical, a private NATS and the compiled ingest-api: a transaction left open when the
 * request comes holds the re-read's snapshot back (a slot waits for running transactions), so it
 * commits before the re-read's LSN while the stream reads it only after the re-read. Its update of
 * a re-read row is skipped (the re-read has it), its update outside the range and its delete of a
 * re-read row go through, and replaying the raw stream in order gives the source's rows.
 */
import { Kvm } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import type { Rec } from '@tributary/contract/codec';
import { cursorKey, RESNAPSHOT_SUB, type SourceResnapshot } from '@tributary/runtime/nats';
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { SourceEnv } from './source-env';

jest.setTimeout(120_000);

const PIPELINE = `
pipeline: shop
connections:
  shop_db: { kind: postgres, url: env:SHOP_DB_URL }
sources:
  changes:
    kind: postgres_cdc
    connection: shop_db
    tables: [items]
    batch_records: 20
    flush_interval: 50ms
    heartbeat: 300ms
datasets:
  items:
    from: changes
    fields: { id: { type: integer, required: true }, v: integer, region: string }
tables:
  items: { from: items, mode: upsert, key: [id] }
`;

let pg: PostgresServer;
let env: SourceEnv;
let db: Client;
let holder: Client;

beforeAll(async () => {
  [pg, env] = await Promise.all([
    PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } }),
    SourceEnv.start(),
  ]);
  const url = await pg.createDatabase('shop');
  db = new Client({ connectionString: url });
  holder = new Client({ connectionString: url });
  await Promise.all([db.connect(), holder.connect()]);
  for (const c of [db, holder]) c.on('error', () => undefined); // the server stops at the end
  await db.query(
    `CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, region text); INSERT INTO items SELECT g, 0, NULL FROM generate_series(1, 60) g`,
  );
  env.writePipeline('shop', PIPELINE);
  await env.spawnIngest({ SHOP_DB_URL: url });
});
afterAll(async () => {
  await Promise.all([db?.end(), holder?.end()]);
  await env?.close();
  await stopAll();
});

const records = async (): Promise<{ msgId: string; r: Rec }[]> =>
  (await env.raw('shop', 'changes')).flatMap((m) => m.records.map((r) => ({ msgId: m.msgId, r })));

it('skips the older changes of re-read rows only, lets deletes and rows outside the range through, and ends equal to the source', async () => {
  await waitFor(async () => ((await records()).length >= 60 ? true : undefined), { timeoutMs: 30_000, what: 'the initial snapshot' });
  // The column the re-read is for: existing rows get it only by being read again.
  await db.query(`UPDATE items SET region = CASE WHEN id <= 30 THEN 'north' ELSE 'south' END`);
  const streamed = (await records()).length;

  // Open before the request, committed while the re-read's snapshot waits for it.
  await holder.query('BEGIN');
  await holder.query(`UPDATE items SET v = 1 WHERE id IN (10, 45)`);
  await holder.query(`DELETE FROM items WHERE id = 20`);
  const kv = await new Kvm(env.nc).open(BUCKETS.cursors);
  const request: SourceResnapshot = {
    id: 'range01',
    table: 'public.items',
    where: 'id <= 30',
    requestedAt: Date.now(),
    by: 'test',
    state: 'requested',
  };
  await kv.put(cursorKey('shop', 'changes', RESNAPSHOT_SUB), JSON.stringify(request));
  const state = async (): Promise<SourceResnapshot | undefined> => (await kv.get(cursorKey('shop', 'changes', RESNAPSHOT_SUB)))?.json();
  await waitFor(async () => ((await state())?.state === 'running' ? true : undefined), { timeoutMs: 20_000, what: 'the request taken up' });
  await new Promise((r) => setTimeout(r, 500)); // the slot is waiting for the open transaction
  expect((await state())?.lsn).toBeUndefined();
  await holder.query('COMMIT');
  const done = await waitFor(async () => ((await state())?.state === 'done' ? await state() : undefined), {
    timeoutMs: 30_000,
    what: 'the resnapshot done',
  });
  // A change after the re-read goes through, whatever row it touches.
  await db.query(`UPDATE items SET v = 2 WHERE id = 10`);
  expect(done).toMatchObject({ rows: 29, attempts: 1 }); // ids 1..30 but the deleted 20

  const all = await waitFor(
    async () => {
      const rs = await records();
      return rs.some((x) => x.r.id === 10 && x.r.v === 2) ? rs : undefined;
    },
    { timeoutMs: 30_000, what: 'the change after the re-read' },
  );
  const after = all.slice(streamed);
  const reread = after.filter((x) => x.msgId.includes(':resnap:range01:'));
  expect(reread.map((x) => x.r.id).sort((a, b) => Number(a) - Number(b))).toEqual(
    Array.from({ length: 30 }, (_, i) => i + 1).filter((id) => id !== 20),
  );
  expect(reread.every((x) => x.r._op === 'read' && x.r._lsn === done!.lsn && x.r.region === 'north')).toBe(true);
  // The held transaction, read by the stream after the re-read: id 10 skipped (re-read), 45 and the delete of 20 kept.
  const held = after.filter((x) => !x.msgId.includes(':resnap:') && x.r._op !== 'read' && (x.r.v === 1 || x.r._op === 'delete'));
  expect(held.map((x) => [x.r.id, x.r._op])).toEqual([
    [45, 'update'],
    [20, 'delete'],
  ]);

  // Replayed in stream order, as an upsert table takes them, the rows equal the source's.
  const state2 = new Map<number, Rec>();
  for (const { r } of all) {
    if (r._op === 'delete') state2.delete(Number(r.id));
    else state2.set(Number(r.id), r);
  }
  const source = (await db.query<{ id: number; v: number; region: string }>('SELECT id, v, region FROM items ORDER BY id')).rows;
  expect([...state2.values()].map((r) => ({ id: Number(r.id), v: Number(r.v), region: r.region })).sort((a, b) => a.id - b.id)).toEqual(
    source,
  );
});
