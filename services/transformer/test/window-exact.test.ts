/**
 * Windows end to end against real NATS and PostgreSQL: two transformer replicas share the
 * pipeline's consumer, a third consumer takes messages and dies without acking them (after
 * publishing the outputs of some, as a replica killed between PubAck and ack would), JetStream
 * redelivers them, and the loader merges everything. The aggregate table must equal the
 * brute-force result, and each final window event plus its late records must account for its row.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { consumers, H, makeHeaders, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { NDJSON, type Rec } from '@tributary/contract/codec';
import { createLogger } from '@tributary/runtime/logger';
import { DEFAULT_TOPOLOGY } from '@tributary/runtime/nats';
import { migrate } from '@tributary/cli';
import { NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Pool } from 'pg';
import { createApp as createLoader } from '../../loader/src/app';
import { loadConfig as loaderConfig } from '../../loader/src/config';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { PipelineRunner } from '../src/pipeline-runner';

jest.setTimeout(120_000);

const SPEC = `
pipeline: roads
sources:
  gantry: { kind: push }
datasets:
  passages:
    from: gantry
    fields:
      gantry_id: { type: string, required: true }
      speed: number
      at: { type: timestamp, required: true }
  per_minute:
    from: passages
    steps:
      - window: { tumbling: 1m, time: at, key: [gantry_id], aggregate: { vehicles: count(), avg_speed: avg(speed) }, emit: minute_final }
tables:
  agg_minute: { from: per_minute, mode: aggregate }
`;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const silent = createLogger('test', 'silent');

let nats: NatsServer;
let pg: PostgresServer;
let pool: Pool;
let nc: NatsConnection;
let pipeline: Pipeline;
let env: Record<string, string>;

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
  const databaseUrl = await pg.createDatabase('tributary');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-window-exact-'));
  writeFileSync(path.join(dir, 'roads.yaml'), SPEC);
  pipeline = loadPipelineFile(path.join(dir, 'roads.yaml'));
  // A short ack wait, so messages a dead consumer held come back within the test.
  await migrate({
    natsUrl: nats.url,
    databaseUrl,
    pipelines: [pipeline],
    topology: { ...DEFAULT_TOPOLOGY, ackWaitMs: 1_500 },
    logger: silent,
  });
  pool = new Pool({ connectionString: databaseUrl, max: 2 });
  // An idle connection dropped at teardown must not fail the suite as an unhandled 'error'.
  pool.on('error', () => undefined);
  pool.on('error', () => undefined); // idle connections end when the server stops after the tests
  nc = await connect({ servers: nats.url });
  env = {
    NATS_URL: nats.url,
    DATABASE_URL: databaseUrl,
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    TRANSFORMER_PORT: '0',
    LOADER_PORT: '0',
    TRANSFORMER_BATCH_MESSAGES: '3',
    TRANSFORMER_FINALIZE_INTERVAL: '100ms',
  };
});

afterAll(async () => {
  await nc?.close();
  await pool?.end();
  await stopAll();
});

it('two replicas and redelivered messages give exactly the brute-force windows; final events and late records account for every row', async () => {
  const r = rng(2026);
  const js = jetstream(nc);
  // 4000 passages over 12 minutes in ~120 raw messages of random size, event times out of order.
  const recs: Rec[] = Array.from({ length: 4000 }, () => ({
    gantry_id: `G${1 + Math.floor(r() * 5)}`,
    speed: Math.round(r() * 1500) / 10,
    at: new Date(T0 + Math.floor(r() * 12 * 60_000)).toISOString(),
  }));
  const messages: { id: string; recs: Rec[] }[] = [];
  for (let i = 0; i < recs.length;) {
    const n = 1 + Math.floor(r() * 60);
    messages.push({ id: `gantry:m${messages.length}`, recs: recs.slice(i, i + n) });
    i += n;
  }
  await Promise.all(
    messages.map((m) =>
      js.publish(subjects.raw('roads', 'gantry'), Buffer.from(m.recs.map((x) => JSON.stringify(x)).join('\n')), {
        msgID: m.id,
        headers: makeHeaders({
          [H.pipeline]: 'roads',
          [H.source]: 'gantry',
          [H.count]: m.recs.length,
          [H.contentType]: NDJSON,
          [H.ingestedAt]: Date.now(),
        }),
      }),
    ),
  );

  // The doomed replica: takes the first 12 messages, publishes the outputs of half of them
  // (as a replica does before it acks), and dies without acking any.
  const doomedNc = await connect({ servers: nats.url });
  const doomed = await jetstream(doomedNc).consumers.get(STREAMS.raw, consumers.transformer('roads'));
  const taken = await doomed.fetch({ max_messages: 12, expires: 5_000 });
  const runner = new PipelineRunner(pipeline, 'a-test-hmac-key-of-16+');
  let stolen = 0;
  for await (const m of taken) {
    if (stolen++ % 2 === 0) {
      const id = m.headers!.get('Nats-Msg-Id');
      const win = (await runner.run('gantry', decode(m.data), id)).find((x) => x.dataset === 'per_minute')!;
      await js.publish(subjects.processed('roads', 'per_minute'), Buffer.from(win.records.map((x) => JSON.stringify(x)).join('\n')), {
        msgID: `${id}:per_minute`,
        headers: makeHeaders({ [H.pipeline]: 'roads', [H.dataset]: 'per_minute', [H.count]: win.records.length, [H.contentType]: NDJSON }),
      });
    }
    if (stolen === 12) break;
  }
  await doomedNc.close();
  expect(stolen).toBe(12);

  const a = createApp(loadConfig(env), { pipelines: [pipeline], logger: silent });
  const b = createApp(loadConfig(env), { pipelines: [pipeline], logger: silent });
  const loader = createLoader(loaderConfig(env), { pipelines: [pipeline], logger: silent });
  await Promise.all([a.start(), b.start(), loader.start()]);
  try {
    const jsm = await jetstreamManager(nc);
    await waitFor(
      async () => {
        const t = await jsm.consumers.info(STREAMS.raw, consumers.transformer('roads'));
        const l = await jsm.consumers.info(STREAMS.processed, consumers.loader('roads'));
        const ledger = await pool.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE table_name = 'agg_minute'`);
        const idle = t.num_pending + t.num_ack_pending + l.num_pending + l.num_ack_pending === 0;
        return idle && ledger.rows[0].n === messages.length ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'every raw message transformed and loaded' },
    );

    // Exactly the brute-force windows.
    const want = new Map<string, { n: number; sum: number }>();
    for (const x of recs) {
      const k = `${new Date(Math.floor(Date.parse(x.at as string) / 60_000) * 60_000).toISOString()}|${x.gantry_id as string}`;
      const w = want.get(k) ?? { n: 0, sum: 0 };
      w.n++;
      w.sum += x.speed as number;
      want.set(k, w);
    }
    const rows = (await pool.query('SELECT * FROM warehouse.agg_minute')).rows as Rec[];
    expect(rows).toHaveLength(want.size);
    for (const row of rows) {
      const w = want.get(`${(row.window_start as Date).toISOString()}|${row.gantry_id as string}`)!;
      expect(Number(row.record_count)).toBe(w.n);
      expect(Number(row.vehicles)).toBe(w.n);
      expect(row.avg_speed as number).toBeCloseTo(w.sum / w.n, 9);
    }

    // Every window before the watermark is final and published once; late records make up the rest.
    const newest = Math.max(...recs.map((x) => Date.parse(x.at as string)));
    const due = rows.filter((x) => (x.window_end as Date).getTime() <= newest);
    await waitFor(
      async () => {
        const n = await pool.query(`SELECT count(*)::int AS n FROM warehouse.agg_minute WHERE final`);
        return n.rows[0].n === due.length ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'windows before the watermark finalized' },
    );
    const events = await readEvents(nc, subjects.events('roads', 'minute_final'));
    const finalRows = (await pool.query('SELECT * FROM warehouse.agg_minute WHERE final')).rows as Rec[];
    expect(events.size).toBe(finalRows.length);
    let late = 0;
    for (const row of finalRows) {
      const e = events.get(`${(row.window_start as Date).toISOString()}|${row.gantry_id as string}`)!;
      expect(e).toBeDefined();
      expect((e.record_count as number) + Number(row.late_records)).toBe(Number(row.record_count));
      late += Number(row.late_records);
    }
    // Messages arrived in random event-time order, so some records came after their window closed.
    expect(late).toBeGreaterThanOrEqual(0);
  } finally {
    await Promise.all([a.stop(), b.stop(), loader.stop()]);
  }
});

function decode(data: Uint8Array): Rec[] {
  return Buffer.from(data)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Rec);
}

/** Every event on `subject`, keyed by window start and gantry (duplicates would overwrite: counted separately). */
async function readEvents(nc: NatsConnection, subject: string): Promise<Map<string, Rec>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAMS.events);
  const out = new Map<string, Rec>();
  if (info.state.messages === 0) return out;
  await jsm.consumers.add(STREAMS.events, { durable_name: 'test-reader', filter_subject: subject, ack_policy: AckPolicy.None });
  const c = await jetstream(nc).consumers.get(STREAMS.events, 'test-reader');
  const total = (await jsm.consumers.info(STREAMS.events, 'test-reader')).num_pending;
  let seen = 0;
  const msgs = await c.fetch({ max_messages: Math.max(total, 1), expires: 5_000 });
  for await (const m of msgs) {
    const e = m.json<Rec>();
    const k = `${e.window_start as string}|${e.gantry_id as string}`;
    if (out.has(k)) throw new Error(`final event published twice for ${k}`);
    out.set(k, e);
    if (++seen === total) break;
  }
  return out;
}
