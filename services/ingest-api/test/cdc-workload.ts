/**
 * A CDC workload on a private PostgreSQL for tests of the postgres_cdc initial snapshot: two tables
 * (an integer key and a text key) the test alone writes (inserts, updates, deletes, key moves both
 * ways), and the check that what JetStream holds, replayed as an append-only log, has every row
 * exactly once and ends equal to the tables. Shared by `snapshot-resume.test.ts` (in-process
 * deaths) and `tests/slow/snapshot-sigkill.test.ts` (a SIGKILLed ingest-api).
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { decodeNdjson, type Rec } from '@tributary/contract/codec';
import type { Pipeline } from '@tributary/contract/spec';
import { STREAMS } from '@tributary/contract/wire';
import { PostgresServer, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { PullHarness } from './pull-harness';

/** What `useSourceDatabase` gives the tests of a file, set before they run. */
export interface SourceDatabase {
  h: PullHarness;
  /** The source database's URL (the pipeline reads it from `RESUME_DB_URL`). */
  url: string;
  /** A client of it for the test's own reads and writes. */
  db: Client;
}

/**
 * A private PostgreSQL with logical decoding (`slots` replication slots and WAL senders) and a
 * `PullHarness`, started before the file's tests and stopped after them; database `name` is the
 * source.
 */
export function useSourceDatabase(name: string, slots: number): SourceDatabase {
  const src = {} as SourceDatabase;
  beforeAll(async () => {
    let pg: PostgresServer;
    [pg, src.h] = await Promise.all([
      PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: slots, max_wal_senders: slots } }),
      PullHarness.start(),
    ]);
    src.url = await pg.createDatabase(name);
    src.db = new Client({ connectionString: src.url });
    src.db.on('error', () => undefined);
    await src.db.connect();
  });
  afterAll(async () => {
    await src.db?.end();
    await src.h?.close();
  });
  return src;
}

/** The pipeline: source `changes` on tables `<name>_items` (int key) and `<name>_tags` (text key). */
export const PIPELINE = (name: string): string => `
pipeline: ${name}
connections:
  db: { kind: postgres, url: env:RESUME_DB_URL }
sources:
  changes:
    kind: postgres_cdc
    connection: db
    tables: [${name}_items, ${name}_tags]
    batch_records: 20
    flush_interval: 50ms
    heartbeat: 300ms
datasets:
  items:
    from: changes
    fields: { id: integer }
`;

export /** The source's rows as the test's own bookkeeping has them (it is the only writer). */
class Workload {
  private readonly ids = new Set<number>();
  private readonly codes = new Set<string>();
  private nextId = 1;
  private nextCode = 1;
  private v = 0;
  /** Transactions done so far. */
  done = 0;
  constructor(
    private readonly p: string,
    private readonly db: Client,
    /** Rows of items and tags to start with. */
    private readonly size: readonly [number, number] = [300, 200],
  ) {}

  async setup(): Promise<void> {
    const db = this.db;
    await db.query(`
      CREATE TABLE ${this.p}_items (id int PRIMARY KEY, v int NOT NULL, name text);
      CREATE TABLE ${this.p}_tags (code text PRIMARY KEY, v int NOT NULL);`);
    const [items, tags] = this.size;
    for (let i = 0; i < items; i++) this.ids.add(this.nextId++);
    for (let i = 0; i < tags; i++) this.codes.add(this.code(this.nextCode++));
    await db.query(`INSERT INTO ${this.p}_items SELECT g, 0, 'item ' || g FROM generate_series(1, ${items}) g`);
    await db.query(`INSERT INTO ${this.p}_tags SELECT 'k' || lpad(g::text, 5, '0'), 0 FROM generate_series(1, ${tags}) g`);
  }

  private code(n: number): string {
    return `k${String(n).padStart(5, '0')}`;
  }

  private pick<T>(s: Set<T>, i: number): T {
    const all = [...s];
    return all[(i * 7919) % all.length]!;
  }

  /** `n` transactions of a few changes each: inserts, updates, deletes, and key moves both ways. */
  async churn(n: number): Promise<void> {
    const db = this.db;
    for (let i = 0; i < n; i++, this.done++) {
      const r = (this.v * 31 + i * 17) % 6;
      await db.query('BEGIN');
      const id = this.pick(this.ids, this.v + i);
      const code = this.pick(this.codes, this.v + 3 * i);
      if (r === 0) {
        const nid = this.nextId++;
        this.ids.add(nid);
        await db.query(`INSERT INTO ${this.p}_items VALUES ($1, $2, 'new')`, [nid, ++this.v]);
        const c = this.code(this.nextCode++);
        this.codes.add(c);
        await db.query(`INSERT INTO ${this.p}_tags VALUES ($1, $2)`, [c, ++this.v]);
      } else if (r === 1) {
        this.ids.delete(id);
        await db.query(`DELETE FROM ${this.p}_items WHERE id = $1`, [id]);
        this.codes.delete(code);
        await db.query(`DELETE FROM ${this.p}_tags WHERE code = $1`, [code]);
      } else if (r === 2) {
        // A key move, to the far end or to the lowest free key (across any read frontier).
        const to = i % 2 === 0 ? this.nextId++ + 1000 : this.lowestFree(this.ids);
        this.ids.delete(id);
        this.ids.add(to);
        await db.query(`UPDATE ${this.p}_items SET id = $1, v = $2 WHERE id = $3`, [to, ++this.v, id]);
        const tc = i % 2 === 0 ? `z${code}` : `a${code}`;
        this.codes.delete(code);
        this.codes.add(tc);
        await db.query(`UPDATE ${this.p}_tags SET code = $1, v = $2 WHERE code = $3`, [tc, ++this.v, code]);
      } else {
        await db.query(`UPDATE ${this.p}_items SET v = $1 WHERE id = $2`, [++this.v, id]);
        await db.query(`UPDATE ${this.p}_tags SET v = $1 WHERE code = $2`, [++this.v, code]);
      }
      await db.query('COMMIT');
    }
  }

  private lowestFree(s: Set<number>): number {
    let k = 1;
    while (s.has(k)) k++;
    return k;
  }

  /** Churns until `stop()` is called. */
  background(): { stop(): Promise<void> } {
    let running = true;
    const done = (async () => {
      while (running) await this.churn(1);
    })();
    return {
      stop: async () => {
        running = false;
        await done;
      },
    };
  }

  /** Resolves once `n` more transactions are done (by `background`). */
  async more(n: number): Promise<void> {
    const target = this.done + n;
    await waitFor(async () => this.done >= target, { timeoutMs: 30_000, intervalMs: 10, what: `${n} more source transactions` });
  }
}

export /** Replays records as an append-only log keyed by table and primary key; lists every violation. */
function replay(records: Rec[], p: string): { state: Map<string, Rec>; problems: string[] } {
  const state = new Map<string, Rec>();
  const problems: string[] = [];
  const keyOf = (r: Rec): string => (r._table === `public.${p}_items` ? `i:${String(r.id)}` : `t:${String(r.code)}`);
  for (const r of records) {
    const key = keyOf(r);
    const at = `${String(r._op)} ${key} at ${String(r._lsn)}.${String(r._seq)}`;
    if (r._op === 'read' || r._op === 'insert') {
      if (state.has(key)) problems.push(`${at}: already there (doubled)`);
      state.set(key, r);
    } else if (r._op === 'update') {
      const before = r._before as Rec | undefined;
      const old = before ? keyOf({ ...before, _table: r._table }) : key;
      if (!state.has(old)) problems.push(`${at}: old row ${old} missing (lost)`);
      state.delete(old);
      if (old !== key && state.has(key)) problems.push(`${at}: new key already there (doubled)`);
      state.set(key, r);
    } else if (r._op === 'delete') {
      if (!state.has(key)) problems.push(`${at}: missing (lost)`);
      state.delete(key);
    }
  }
  return { state, problems };
}

/**
 * Waits until the source streams (its snapshot, resumed or not, is done), stops the writer, then
 * writes a marker and waits for it to come through the stream: everything before it has too.
 */
export async function streamed(
  h: PullHarness,
  db: Client,
  pipeline: Pipeline,
  name: string,
  writer: { stop(): Promise<void> } | undefined,
): Promise<void> {
  const cursor = h.cursorStore(pipeline, 'changes');
  await waitFor(async () => (await cursor.get<{ phase: string }>())?.phase === 'streaming', {
    timeoutMs: 30_000,
    what: 'the source to stream',
  });
  await writer?.stop();
  await db.query(`INSERT INTO ${name}_items VALUES (999999, 0, 'marker')`);
  // The newest message of the source (reading them all on every poll would take longer than the rest).
  const jsm = await jetstreamManager(h.env.nc);
  const newest = async (): Promise<Rec[]> => {
    const m = await jsm.streams.getMessage(STREAMS.raw, { last_by_subj: `trib.raw.${name}.changes` }).catch(() => null);
    return m ? decodeNdjson(m.data) : [];
  };
  await waitFor(async () => (await newest()).some((r) => r.id === 999999 && r._op === 'insert'), {
    timeoutMs: 30_000,
    intervalMs: 50,
    what: 'the marker written after everything else',
  });
}

/** What JetStream holds for `name`, replayed as an append-only log, has every row once and equals the tables. */
export async function expectExactlyOnce(h: PullHarness, db: Client, name: string): Promise<void> {
  const records = (await h.env.raw(name, 'changes')).flatMap((m) => m.records);
  const { state, problems } = replay(records, name);
  expect(problems).toEqual([]);
  const items = (await db.query<{ id: number; v: number }>(`SELECT id, v FROM ${name}_items ORDER BY id`)).rows;
  const tags = (await db.query<{ code: string; v: number }>(`SELECT code, v FROM ${name}_tags ORDER BY code`)).rows;
  const want = [...items.map((r) => [`i:${r.id}`, r.v] as const), ...tags.map((r) => [`t:${r.code}`, r.v] as const)].sort();
  const got = [...state.entries()].map(([k, r]) => [k, r.v] as const).sort();
  expect(got).toEqual(want);
  // Every change position once.
  const changes = records.filter((r) => r._op !== 'read');
  expect(new Set(changes.map((r) => `${String(r._lsn)}.${String(r._seq)}`)).size).toBe(changes.length);
  // The slot the run streamed from is the one made first: the snapshot resumed on it.
  const slots = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = $1`, [
    `trib_${name}_changes`,
  ]);
  expect(slots.rows[0]!.n).toBe('1');
}

// 300 items and 200 tags in chunks of 20 rows, each chunk 3 messages: items are messages 1-45.
