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
import { Publisher, type PublishOptions } from '@tributary/runtime/nats';
import { stopAll } from '@tributary/testkit';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { RecordIngestor } from '../src/record-ingestor';
import type { PullContextDeps } from '../src/scheduling/pull-context';
import { create as createCdc } from '../src/sources/postgres-cdc';
import type { CursorStore, PullContext } from '../src/sources/pull-source';
import { expectExactlyOnce, PIPELINE, streamed, useSourceDatabase, Workload } from './cdc-workload';

afterAll(stopAll);

const src = useSourceDatabase('resume', 16);

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
  const js = jetstream(src.h.env.nc);
  const publisher = new DyingPublisher(js, limit);
  return {
    ingestor: new RecordIngestor(publisher, { batchRecords: 7, batchBytes: 768 * 1024 }),
    publisher,
    js,
    leases: await new Kvm(src.h.env.nc).open(BUCKETS.leases),
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
  const store = src.h.cursorStore(pipeline, 'changes');
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

/** Runs the source in this process with `ctx`; resolves with its error (the simulated death) or undefined. */
function run(pipeline: Pipeline, ctx: PullContext): Promise<unknown> {
  const source = createCdc.pull(pipeline.sources.changes as never, {
    pipeline,
    name: 'changes',
    ingestor: undefined as never,
    logger: src.h.logger,
  });
  return source.run(ctx).then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** How each interrupted run dies: after a number of raw messages, or right after a cursor commit. */
type Death = { messages: number } | CommitDeath;

async function scenario(name: string, deaths: Death[]): Promise<void> {
  process.env.RESUME_DB_URL = src.url;
  const pipeline = src.h.pipeline(PIPELINE(name));
  const bg = new Client({ connectionString: src.url });
  bg.on('error', () => undefined);
  await bg.connect();
  const work = new Workload(name, bg);
  // The first run reads tables of known sizes (so a message count lands where the test says);
  // from its death on, a writer changes the tables all the time: while down, during every resume.
  let writer: { stop(): Promise<void> } | undefined;
  try {
    await work.setup();
    for (const death of deaths) {
      const ctx = await src.h.context(pipeline, 'changes', {
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
    const ctx = await src.h.context(pipeline, 'changes', { deps: await deps(), cursors: cursors(pipeline), signal: ac.signal });
    const running = run(pipeline, ctx);
    await work.more(30);
    await streamed(src.h, src.db, pipeline, name, writer);
    ac.abort();
    expect(await running).toBeUndefined();
  } finally {
    await writer?.stop();
    await bg.end();
  }

  await expectExactlyOnce(src.h, src.db, name);
}

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
