/**
 * postgres_cdc against a private PostgreSQL with wal_level=logical and a private NATS: initial
 * snapshot, changes made while the ingest-api runs, a SIGKILL of the ingest-api mid-stream and a
 * restart, then: every change arrives exactly once, in commit order per key, with its operation
 * and commit time; the slot is acknowledged up to the end; the lag metric is exported.
 */
import { readFileSync } from 'node:fs';
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import type { Rec } from '@tributary/contract/codec';
import { DEFAULT_LEASE_TTL_MS } from '../src/config';
import { SourceEnv } from './source-env';

afterAll(stopAll);

const PIPELINE = (heartbeat: string) => `
pipeline: shop
connections:
  shop_db: { kind: postgres, url: env:SHOP_DB_URL }
sources:
  changes:
    kind: postgres_cdc
    connection: shop_db
    tables: [items, public.notes]
    batch_records: 25
    flush_interval: 50ms
    heartbeat: ${heartbeat}
datasets:
  items:
    from: changes
    fields: { id: integer }
`;

/** Applies records in stream order to a map keyed by table and id, as a downstream upsert would. */
function replay(records: Rec[]): Map<string, Rec> {
  const state = new Map<string, Rec>();
  for (const r of records) {
    const key = `${String(r._table)}:${String(r.id)}`;
    if (r._op === 'delete') state.delete(key);
    else state.set(key, r);
  }
  return state;
}

/** Info lines of a service log that carry the shop pipeline and the changes source, by message. */
function lifecycle(logPath: string): string[] {
  return readFileSync(logPath, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number | string; msg: string; pipeline?: string; source?: string })
    .filter((l) => (l.level === 30 || l.level === 'info') && l.pipeline === 'shop' && l.source === 'changes')
    .map((l) => l.msg);
}

describe('postgres_cdc source', () => {
  let pg: PostgresServer;
  let env: SourceEnv;
  let url: string;
  let db: Client;

  beforeAll(async () => {
    [pg, env] = await Promise.all([
      PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } }),
      SourceEnv.start(),
    ]);
    url = await pg.createDatabase('shop');
    db = new Client({ connectionString: url });
    await db.connect();
    await db.query(`
      CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL, v bigint NOT NULL, price numeric(10,2), seen timestamptz, day date);
      CREATE TABLE notes (id bigint PRIMARY KEY, body text);
      INSERT INTO items SELECT g, 'item ' || g, 0, g * 1.5, '2024-05-06 07:08:09.123456+00', '2024-05-06' FROM generate_series(1, 40) g;
      INSERT INTO notes VALUES (1, 'before the slot');`);
  });
  afterAll(async () => {
    await db?.end();
    await env?.close();
  });

  it('snapshots, streams every change once and in order per key across a SIGKILL of the ingest-api, and acknowledges the slot', async () => {
    env.writePipeline('shop', PIPELINE('300ms'));
    let ingest = await env.spawnIngest({ SHOP_DB_URL: url });
    // The snapshot is published before any change: once it is there, the slot exists.
    await waitFor(async () => (await env.raw('shop', 'changes')).flatMap((m) => m.records).length >= 41, {
      timeoutMs: 30_000,
      what: 'the initial snapshot',
    });

    // Changes while the source runs: v is a global counter, so per key it only grows.
    let v = 0;
    let changes = 0;
    const mutate = async (rounds: number): Promise<void> => {
      for (let i = 0; i < rounds; i++) {
        const id = 1 + ((i * 7) % 60);
        await db.query('BEGIN');
        const r1 = await db.query(
          `INSERT INTO items (id, name, v) VALUES ($1::int, 'new ' || $1::text, $2) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, name = 'upd ' || $1::text`,
          [id, ++v],
        );
        const r2 = await db.query('UPDATE items SET v = $1 WHERE id = $2', [++v, 1 + ((id + 3) % 60)]);
        const r3 = i % 5 === 0 ? await db.query('DELETE FROM items WHERE id = $1', [1 + ((id + 11) % 60)]) : { rowCount: 0 };
        await db.query('COMMIT');
        changes += (r1.rowCount ?? 0) + (r2.rowCount ?? 0) + (r3.rowCount ?? 0);
      }
    };

    await mutate(150);
    await db.query(`INSERT INTO notes VALUES (2, 'after the slot')`);
    changes += 1;
    // Wait until some of it has landed, then kill the process mid-stream while more changes come.
    await waitFor(async () => (await env.raw('shop', 'changes')).length > 5, { timeoutMs: 30_000, what: 'first CDC batches' });
    // Lifecycle events, one info line each, with the pipeline and source.
    expect(lifecycle(ingest.proc.logPath)).toEqual(
      expect.arrayContaining([
        'source started',
        'source lease taken',
        'created publication',
        'created replication slot',
        'initial snapshot started',
        'initial snapshot published',
      ]),
    );
    const writing = mutate(150);
    ingest.proc.kill('SIGKILL');
    await ingest.proc.exited;
    await writing;
    ingest = await env.spawnIngest({ SHOP_DB_URL: url });
    await mutate(100);

    const snapshotRows = 41;
    const messages = await waitFor(
      async () => {
        const m = await env.raw('shop', 'changes');
        const n = m.reduce((s, x) => s + x.records.length, 0);
        return n >= snapshotRows + changes ? m : undefined;
      },
      { timeoutMs: 60_000, what: `${snapshotRows + changes} records` },
    );
    const records = messages.flatMap((m) => m.records);

    // Exactly once: every change position appears once, and the count matches what was written.
    const reads = records.filter((r) => r._op === 'read');
    const stream = records.filter((r) => r._op !== 'read');
    expect(reads).toHaveLength(snapshotRows);
    expect(stream).toHaveLength(changes);
    expect(new Set(stream.map((r) => `${r._lsn}.${r._seq}`)).size).toBe(stream.length);
    // The snapshot precedes every change and is consistent with the slot: the note inserted after
    // the slot was created is a change, not a snapshot row.
    expect(records.findIndex((r) => r._op !== 'read')).toBe(snapshotRows);
    expect(reads.filter((r) => r._table === 'public.notes').map((r) => r.id)).toEqual([1]);
    expect(stream.filter((r) => r._table === 'public.notes').map((r) => [r.id, r._op])).toEqual([[2, 'insert']]);

    // In commit order per key (and overall): positions only grow.
    const lastPos = new Map<string, string>();
    for (const r of stream) {
      const pos = `${String(r._lsn).padStart(20, '0')}.${String(r._seq).padStart(6, '0')}`;
      const key = `${String(r._table)}:${String(r.id)}`;
      expect(pos > (lastPos.get(key) ?? '')).toBe(true);
      lastPos.set(key, pos);
    }
    expect(new Set(stream.map((r) => r._op))).toEqual(new Set(['insert', 'update', 'delete']));

    // Replaying the stream gives exactly the table as it is now.
    const final = replay(records);
    const rows = (await db.query<{ id: number; v: string; name: string }>('SELECT id, v, name FROM items ORDER BY id')).rows;
    const replayed = [...final.entries()]
      .filter(([k]) => k.startsWith('public.items:'))
      .map(([, r]) => ({ id: r.id, v: String(r.v), name: r.name }))
      .sort((a, b) => Number(a.id) - Number(b.id));
    expect(replayed).toEqual(rows.map((r) => ({ id: r.id, v: String(r.v), name: r.name })));

    // Types and metadata: numbers, ISO timestamps in UTC, dates as dates, commit time and LSN.
    const first = reads.find((r) => r.id === 1 && r._table === 'public.items')!;
    expect(first).toMatchObject({ price: 1.5, seen: '2024-05-06T07:08:09.123456Z', day: '2024-05-06', v: 0 });
    const ins = stream.find((r) => r._op === 'insert')!;
    expect(ins._commit_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/);
    expect(ins._lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const del = stream.find((r) => r._op === 'delete')!;
    expect(Object.keys(del).sort()).toEqual(['_commit_at', '_lsn', '_op', '_seq', '_table', 'id']);

    // Message IDs derive from positions: snapshot chunks and change ranges.
    expect(messages[0]!.msgId).toMatch(/^shop\/changes:snap:[0-9A-F]{16}:public\.items:0$/);
    expect(messages[messages.length - 1]!.msgId).toMatch(/^shop\/changes:cdc:[0-9A-F]{16}\.\d+-[0-9A-F]{16}\.\d+$/);

    // Once idle, heartbeats bring the slot's confirmed position to the current WAL end.
    const slot = await waitFor(
      async () => {
        const r = await db.query<{ lag: string }>(
          `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag FROM pg_replication_slots WHERE slot_name = 'trib_shop_changes'`,
        );
        return Number(r.rows[0]?.lag) < 1024 ? r.rows[0] : undefined;
      },
      { timeoutMs: 20_000, what: 'the slot to catch up with the WAL' },
    );
    expect(slot).toBeDefined();
    // The slot lag gauge is set by the source's heartbeat, which may come after the catch-up.
    const lagMetric = /tributary_cdc_slot_lag_bytes\{[^}]*source="changes"[^}]*\} \d+/;
    await waitFor(async () => lagMetric.test(await (await fetch(`http://127.0.0.1:${ingest.port}/metrics`)).text()), {
      timeoutMs: 20_000,
      what: 'the slot lag gauge on /metrics',
    });
    await ingest.proc.stop();
    // A graceful stop gives the lease up and says so.
    expect(lifecycle(ingest.proc.logPath)).toEqual(expect.arrayContaining(['source lease released', 'source stopped']));
  });

  it('hands the source over to another replica within 3 s of a SIGKILL, with the default lease TTL, never to two at once', async () => {
    env.writePipeline('handover', PIPELINE('300ms').replace('pipeline: shop', 'pipeline: handover'));
    const ttl = { INGEST_LEASE_TTL_MS: String(DEFAULT_LEASE_TTL_MS) };
    const replicas = [await env.spawnIngest({ SHOP_DB_URL: url, ...ttl }), await env.spawnIngest({ SHOP_DB_URL: url, ...ttl })];
    const takenAt = (logPath: string): number[] =>
      readFileSync(logPath, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"source lease taken"') && l.includes('"pipeline":"handover"'))
        .map((l) => Date.parse((JSON.parse(l) as { time: string }).time));
    const holder = await waitFor(async () => replicas.find((r) => takenAt(r.proc.logPath).length > 0), {
      timeoutMs: 30_000,
      what: 'one replica to take the lease',
    });
    const other = replicas.find((r) => r !== holder)!;
    await waitFor(async () => (await env.raw('handover', 'changes')).length > 0, { timeoutMs: 30_000, what: 'the snapshot' });
    holder.proc.kill('SIGKILL');
    const killedAt = Date.now();
    await holder.proc.exited;
    await db.query(`INSERT INTO notes VALUES (100, 'after the hand-over')`);
    const taken = await waitFor(async () => takenAt(other.proc.logPath)[0], {
      timeoutMs: 20_000,
      what: 'the other replica to take the lease',
    });
    expect(taken - killedAt).toBeLessThan(3_000);
    // And it reads on from the slot: the change made after the kill arrives, once.
    const after = await waitFor(
      async () => {
        const recs = (await env.raw('handover', 'changes')).flatMap((m) => m.records).filter((r) => r.id === 100);
        return recs.length > 0 ? recs : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 50, what: 'the change made after the kill' },
    );
    // Read again, not only leased: the change committed after the kill is published within 3 s of it.
    const readAgain = Date.now() - killedAt;
    console.log(`hand-over: lease taken ${taken - killedAt} ms, change read ${readAgain} ms after the SIGKILL`);
    expect(readAgain).toBeLessThan(3_000);
    expect(after).toHaveLength(1);
    // Never two holders: the survivor took the lease once, the dead one never again.
    expect(takenAt(other.proc.logPath)).toHaveLength(1);
    await other.proc.stop();
  });
});
