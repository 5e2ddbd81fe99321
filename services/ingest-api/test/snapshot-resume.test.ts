/**
 * The initial snapshot of postgres_cdc survives being cut short at every phase: before the slot
 * exists, after the slot is made but before its position is committed, in the middle of a table
 * (in the middle of a chunk's messages), between tables, after the last chunk but before streaming,
 * and twice in a row. Against a private PostgreSQL (wal_level=logical) and NATS, with inserts,
 * updates, deletes and primary-key moves on the source throughout. What JetStream holds, replayed
 * as an append-only log, must have every row exactly once (a read or insert never finds its key
 * present, an update or delete always does) and end equal to the tables.
 */
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import type { Pipeline } from '@tributary/contract/spec';
import type { Rec } from '@tributary/contract/codec';
import { Publisher, type PublishOptions } from '@tributary/runtime/nats';
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { RecordIngestor } from '../src/record-ingestor';
import type { PullContextDeps } from '../src/scheduling/pull-context';
import { create as createCdc } from '../src/sources/postgres-cdc';
import type { CursorStore, PullContext } from '../src/sources/pull-source';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

let pg: PostgresServer;
let h: PullHarness;
let url: string;
let db: Client;

beforeAll(async () => {
  [pg, h] = await Promise.all([
    PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 16, max_wal_senders: 16 } }),
    PullHarness.start(),
  ]);
  url = await pg.createDatabase('resume');
  db = new Client({ connectionString: url });
  db.on('error', () => undefined);
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await h?.close();
});

/** Publishes to JetStream until `limit` raw messages went out, then refuses like a dead process. */
class DyingPublisher extends Publisher {
  sent = 0;
  constructor(
    js: ConstructorParameters<typeof Publisher>[0],
    private readonly limit: number,
  ) {
    super(js, 64);
  }
  override publish(subject: string, data: Uint8Array, opts: PublishOptions): ReturnType<Publisher['publish']> {
    if (subject.startsWith('trib.raw.') && ++this.sent > this.limit) return Promise.reject(new Error('killed'));
    return super.publish(subject, data, opts);
  }
}

/** Run dependencies whose ingestor splits a 20-row chunk into 3 messages (7 + 7 + 6 records). */
async function deps(limit = Infinity): Promise<PullContextDeps> {
  const js = jetstream(h.env.nc);
  const publisher = new DyingPublisher(js, limit);
  return {
    ingestor: new RecordIngestor(publisher, { batchRecords: 7, batchBytes: 768 * 1024 }),
    publisher,
    js,
    leases: await new Kvm(h.env.nc).open(BUCKETS.leases),
    registry: new Registry(),
  };
}

/** When a run dies at a cursor commit: just before or just after committing a value `at` matches. */
interface CommitDeath {
  commit: 'before' | 'after';
  at: (v: Record<string, unknown>) => boolean;
}

/** A cursor store (fresh, as a new process has) that dies at the commit `death` names. */
function cursors(pipeline: Pipeline, death?: CommitDeath): CursorStore {
  const store = h.cursorStore(pipeline, 'changes');
  return {
    get: (sub) => store.get(sub),
    commit: async (value, sub) => {
      const dies = death?.at(value as Record<string, unknown>);
      if (dies && death!.commit === 'before') throw new Error('killed before the commit');
      await store.commit(value, sub);
      if (dies) throw new Error('killed after the commit');
    },
  };
}

const PIPELINE = (name: string): string => `
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

/** The source's rows as the test's own bookkeeping has them (it is the only writer). */
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
  ) {}

  async setup(): Promise<void> {
    const db = this.db;
    await db.query(`
      CREATE TABLE ${this.p}_items (id int PRIMARY KEY, v int NOT NULL, name text);
      CREATE TABLE ${this.p}_tags (code text PRIMARY KEY, v int NOT NULL);`);
    for (let i = 0; i < 300; i++) this.ids.add(this.nextId++);
    for (let i = 0; i < 200; i++) this.codes.add(this.code(this.nextCode++));
    await db.query(`INSERT INTO ${this.p}_items SELECT g, 0, 'item ' || g FROM generate_series(1, 300) g`);
    await db.query(`INSERT INTO ${this.p}_tags SELECT 'k' || lpad(g::text, 5, '0'), 0 FROM generate_series(1, 200) g`);
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

/** Replays records as an append-only log keyed by table and primary key; lists every violation. */
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

/** Runs the source in this process with `ctx`; resolves with its error (the simulated death) or undefined. */
function run(pipeline: Pipeline, ctx: PullContext): Promise<unknown> {
  const source = createCdc.pull(pipeline.sources.changes as never, {
    pipeline,
    name: 'changes',
    ingestor: undefined as never,
    logger: h.logger,
  });
  return source.run(ctx).then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** How each interrupted run dies: after a number of raw messages, or right after a cursor commit. */
type Death = { messages: number } | CommitDeath;

async function scenario(name: string, deaths: Death[]): Promise<void> {
  process.env.RESUME_DB_URL = url;
  const pipeline = h.pipeline(PIPELINE(name));
  const bg = new Client({ connectionString: url });
  bg.on('error', () => undefined);
  await bg.connect();
  const work = new Workload(name, bg);
  // The first run reads tables of known sizes (so a message count lands where the test says);
  // from its death on, a writer changes the tables all the time: while down, during every resume.
  let writer: { stop(): Promise<void> } | undefined;
  try {
    await work.setup();
    for (const death of deaths) {
      const ctx = await h.context(pipeline, 'changes', {
        deps: await deps('messages' in death ? death.messages : Infinity),
        cursors: cursors(pipeline, 'commit' in death ? death : undefined),
      });
      const err = await run(pipeline, ctx);
      expect(String(err)).toMatch(/killed/);
      writer ??= work.background();
      await work.more(20);
    }
    // The last run resumes and streams; it is stopped once a marker written last has arrived.
    const ac = new AbortController();
    const ctx = await h.context(pipeline, 'changes', { deps: await deps(), cursors: cursors(pipeline), signal: ac.signal });
    const running = run(pipeline, ctx);
    await work.more(30);
    await writer?.stop();
    await db.query(`INSERT INTO ${name}_items VALUES (999999, 0, 'marker')`);
    await waitFor(async () => (await h.env.raw(name, 'changes')).some((m) => m.records.some((r) => r.id === 999999)), {
      timeoutMs: 30_000,
      what: 'the marker written after everything else',
    });
    ac.abort();
    expect(await running).toBeUndefined();
  } finally {
    await writer?.stop();
    await bg.end();
  }

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
describe('postgres_cdc initial snapshot cut short, resumed on the same slot', () => {
  it('before the slot exists', () => scenario('noslot', [{ commit: 'after', at: (v) => v.phase === 'snapshot' && !v.consistentPoint }]));
  it('after the slot is made, before its position is committed', () =>
    scenario('slotmade', [{ commit: 'before', at: (v) => v.phase === 'snapshot' && v.consistentPoint !== undefined }]));
  it('in the middle of a table, inside a chunk (int key), and again in the resumed read', () =>
    scenario('midtable', [{ messages: 17 }, { messages: 8 }]));
  it('in the middle of the second table (text key), inside a chunk', () => scenario('midtext', [{ messages: 52 }]));
  it('between two tables', () => scenario('between', [{ messages: 45 }]));
  it('after the last chunk, before streaming is committed', () =>
    scenario('beforestream', [{ commit: 'before', at: (v) => v.phase === 'streaming' }]));
});
