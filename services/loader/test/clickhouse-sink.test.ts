/**
 * The ClickHouse sink against a real private clickhouse-server (Debian's 18.16), PostgreSQL and
 * NATS: tables made by migrate with the documented types and evolved by it; append tables exact
 * under redelivery, writes whose ledger commit never happened and a lost visibility marker;
 * aggregate tables equal to a brute-force computation under random batch splits, flushes,
 * redeliveries and two loaders; values that do not fit dead-lettered alone; identifiers and values
 * that would break SQL text stored as they are; and the loader process SIGKILLed mid-load and
 * ClickHouse killed mid-load, with the same message published twice, losing and doubling nothing.
 *
 * clickhouse-server is an optional test tool: when missing, `scripts/setup --test-tools` installs
 * it, and the suite fails with that command's output if it cannot.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { ensureWarehouse } from '@tributary/warehouse/ensure-warehouse';
import { createLogger } from '@tributary/runtime/logger';
import { DEFAULT_TOPOLOGY } from '@tributary/runtime/nats';
import { evaluateFlag, loadPipelineFile, windowOf, type Pipeline } from '@tributary/contract/spec';
import { H, makeHeaders, subjects } from '@tributary/contract/wire';
import { NDJSON, type Rec } from '@tributary/contract/codec';
import { migrate } from '@tributary/cli';
import {
  ClickHouseServer,
  ensureTestTool,
  freePort,
  httpGet,
  NatsServer,
  PostgresServer,
  spawnService,
  stopAll,
  waitFor,
} from '@tributary/testkit';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { PipelineRunner } from '../../transformer/src/pipeline-runner';
import { BatchLoader, type LoadItem, type RejectedRow } from '../src/batch-loader';
import { blockedTables } from '../src/blocked-tables';
import type { TableSink } from '../src/sink';
import { openTableSinks } from '../src/table-sinks';

jest.setTimeout(240_000);

const PASSWORD = `pa'ss"w\\ord <&>`;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const silent = createLogger('test', 'silent');
const LOADER = path.resolve(__dirname, '../dist/main.js');

/** A pipeline loading into ClickHouse database `db` (and one PostgreSQL table beside them). */
const spec = (db: string, extraField = ''): string => `
pipeline: roads_${db}
connections:
  analytics: { kind: clickhouse, url: env:CH_TEST_URL, password: env:CH_TEST_PASSWORD, database: ${db} }
sources:
  gantry: { kind: push }
datasets:
  passages:
    from: gantry
    fields:
      event_id: { type: string, required: true }
      gantry_id: { type: string, required: true }
      speed: number
      passengers: integer
      at: { type: timestamp, required: true }
      day: date
      checked: boolean
      extra: json${extraField}
  per_minute:
    from: passages
    steps:
      - window:
          tumbling: 1m
          time: at
          key: [gantry_id]
          aggregate: { vehicles: count(), avg_speed: avg(speed), people: sum(passengers), slowest: min(speed), fastest: max(speed), first_seen: min(at) }
          flags: { congested: "avg_speed < 40 and vehicles >= 3" }
tables:
  fact_passage: { from: passages, mode: append, sink: { connection: analytics } }
  agg_minute: { from: per_minute, mode: aggregate, sink: { connection: analytics } }
  pg_passage: { from: passages, mode: append }
`;

let ch: ClickHouseServer;
let pg: PostgresServer;
let pool: Pool;

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Writes `yaml` to a temp folder and loads it. */
function pipelineOf(yaml: string): Pipeline {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-ch-'));
  writeFileSync(path.join(dir, 'p.yaml'), yaml);
  return loadPipelineFile(path.join(dir, 'p.yaml'));
}

/** Creates (or evolves) the pipeline's tables as migrate does; returns what it did. */
async function migrateTables(p: Pipeline) {
  const c = await pool.connect();
  try {
    return await ensureWarehouse(c, p);
  } finally {
    c.release();
  }
}

function passages(n: number, r: () => number, from = 0): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `e${from + i}`,
    gantry_id: `G${1 + Math.floor(r() * 4)}`,
    speed: r() < 0.05 ? null : Math.round(r() * 1200) / 10,
    passengers: 1 + Math.floor(r() * 4),
    at: new Date(T0 + Math.floor(r() * 15 * 60_000)).toISOString(),
    day: '2026-01-05',
    checked: r() < 0.5,
    extra: { lane: Math.floor(r() * 3) },
  }));
}

/** Input batches of random size, run through the transformer's steps: one message per dataset each. */
async function processed(p: Pipeline, recs: Rec[], r: () => number, prefix: string): Promise<LoadItem[]> {
  const runner = new PipelineRunner(p, 'a-test-hmac-key-of-16+');
  const items: LoadItem[] = [];
  for (let i = 0, n = 0, batch = 0; i < recs.length; i += n, batch++) {
    n = 1 + Math.floor(r() * 60);
    const id = `${prefix}-${batch}`;
    for (const res of await runner.run('gantry', recs.slice(i, i + n), id)) {
      items.push({ msgId: `${id}:${res.dataset}`, dataset: res.dataset, seq: items.length + 1, ingestedAt: T0, records: res.records });
    }
  }
  return items;
}

/** Writes a message through a sink with no ledger row: what a loader that died before its commit left behind. */
async function writeOnly(sink: TableSink, it: LoadItem): Promise<void> {
  const client = await pool.connect();
  try {
    await sink.write({
      client,
      rows: [{ msgId: it.msgId, records: it.records, ingestedAt: T0 }],
      origins: [it],
      rejected: [],
      isolate: false,
    });
  } finally {
    client.release();
  }
}

const noRejects = async (rows: RejectedRow[]): Promise<void> => {
  if (rows.length) throw new Error(`unexpected rejects: ${rows.map((x) => x.error.message).join('; ')}`);
};

/** ClickHouse's text for a time: `YYYY-MM-DD hh:mm:ss` (UTC). */
const chTime = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ');

/** The aggregate view must equal the window computed record by record. */
async function expectBruteForce(p: Pipeline, db: string, recs: Rec[]): Promise<void> {
  const want = new Map<
    string,
    { n: number; sum: number; speeds: number; people: number; min: number | null; max: number | null; first: number }
  >();
  for (const x of recs) {
    const t = Date.parse(x.at as string);
    const k = `${chTime(Math.floor(t / 60_000) * 60_000)}|${x.gantry_id as string}`;
    const row = want.get(k) ?? { n: 0, sum: 0, speeds: 0, people: 0, min: null, max: null, first: Infinity };
    row.n++;
    row.people += x.passengers as number;
    row.first = Math.min(row.first, t);
    if (x.speed !== null) {
      const s = x.speed as number;
      row.speeds++;
      row.sum += s;
      row.min = row.min === null ? s : Math.min(row.min, s);
      row.max = row.max === null ? s : Math.max(row.max, s);
    }
    want.set(k, row);
  }
  const rows = await ch.query<Rec>(`SELECT * FROM ${db}.agg_minute ORDER BY window_start, gantry_id`);
  expect(rows).toHaveLength(want.size);
  const flag = windowOf(p.datasets.find((d) => d.name === 'per_minute')!)!.flags.congested!;
  let total = 0;
  for (const row of rows) {
    const w = want.get(`${row.window_start as string}|${row.gantry_id as string}`)!;
    expect(w).toBeDefined();
    expect(Number(row.record_count)).toBe(w.n);
    expect(Number(row.vehicles)).toBe(w.n);
    expect(Number(row.people)).toBe(w.people);
    expect(Number(row.avg_speed_count)).toBe(w.speeds);
    expect(row.avg_speed_sum as number).toBeCloseTo(w.sum, 6);
    expect(row.avg_speed as number).toBeCloseTo(w.sum / w.speeds, 9);
    expect(row.slowest).toBe(w.min);
    expect(row.fastest).toBe(w.max);
    expect(row.first_seen).toBe(chTime(w.first));
    const merged = evaluateFlag(flag, { avg_speed: w.sum / w.speeds, vehicles: w.n });
    expect(row.congested).toBe(merged === null ? null : Number(merged));
    expect(row).not.toHaveProperty('final');
    total += Number(row.record_count);
  }
  expect(total).toBe(recs.length);
}

/** Rows of the append view, and rows of its store counted with duplicates. */
async function appendCounts(db: string): Promise<{ visible: number; distinct: number; stored: number }> {
  const [v] = await ch.query<{ n: string; d: string }>(`SELECT count() AS n, uniqExact(_msg_id, _record) AS d FROM ${db}.fact_passage`);
  const [s] = await ch.query<{ n: string }>(`SELECT count() AS n FROM ${db}.fact_passage__rows`);
  return { visible: Number(v!.n), distinct: Number(v!.d), stored: Number(s!.n) };
}

beforeAll(async () => {
  ensureTestTool('/usr/sbin/clickhouse-server');
  [ch, pg] = await Promise.all([ClickHouseServer.start({ password: PASSWORD }), PostgresServer.start()]);
  process.env.CH_TEST_URL = ch.url;
  process.env.CH_TEST_PASSWORD = PASSWORD;
  pool = new Pool({ connectionString: await pg.createDatabase('tributary'), max: 6 });
  // Idle connections are cut when the server stops at the end of the file; that is no test failure.
  pool.on('error', () => undefined);
  await pool.query(BOOKKEEPING_DDL);
});

afterAll(async () => {
  await pool?.end();
  await stopAll();
});

describe('tables in ClickHouse', () => {
  it('are created by migrate with the documented types, gain a column for a new field, and stop alone on an incompatible change', async () => {
    const p = pipelineOf(spec('mig'));
    const first = await migrateTables(p);
    expect(first.stopped).toEqual([]);
    expect(first.actions).toEqual(
      expect.arrayContaining([
        'created ClickHouse table mig.fact_passage__rows',
        'created ClickHouse view mig.fact_passage',
        'created ClickHouse table mig.agg_minute__partials',
        'created table warehouse.pg_passage',
      ]),
    );
    const cols = await ch.query<{ name: string; type: string }>(
      `SELECT name, type FROM system.columns WHERE database = 'mig' AND table = 'fact_passage__rows'`,
    );
    expect(Object.fromEntries(cols.map((c) => [c.name, c.type]))).toEqual({
      event_id: 'Nullable(String)',
      gantry_id: 'Nullable(String)',
      speed: 'Nullable(Float64)',
      passengers: 'Nullable(Int64)',
      at: "Nullable(DateTime('UTC'))",
      day: 'Nullable(Date)',
      checked: 'Nullable(UInt8)',
      extra: 'Nullable(String)',
      _msg_id: 'String',
      _record: 'UInt32',
      _ingested_at: "DateTime('UTC')",
      _source_time: "Nullable(DateTime('UTC'))",
    });
    const [agg] = await ch.query<{ sorting_key: string; partition_key: string }>(
      `SELECT sorting_key, partition_key FROM system.tables WHERE database = 'mig' AND name = 'agg_minute__partials'`,
    );
    expect(agg).toEqual({ sorting_key: 'window_start, _msg_id, _record', partition_key: 'toYYYYMM(window_start)' });
    // Running it again changes nothing.
    expect((await migrateTables(p)).actions).toEqual([]);

    // A new optional field adds a Nullable column and the view shows it.
    const evolved = pipelineOf(spec('mig', '\n      plate: string'));
    const second = await migrateTables(evolved);
    expect(second.actions).toEqual(
      expect.arrayContaining([
        'added ClickHouse column fact_passage__rows.plate Nullable(String)',
        'updated ClickHouse view mig.fact_passage',
      ]),
    );
    const viewCols = await ch.query<{ name: string }>(`SELECT name FROM system.columns WHERE database = 'mig' AND table = 'fact_passage'`);
    expect(viewCols.map((c) => c.name)).toContain('plate');

    // Someone changed a column's type by hand: that table stops, the others go on.
    await ch.query('ALTER TABLE mig.fact_passage__rows MODIFY COLUMN speed Nullable(String)');
    const third = await migrateTables(evolved);
    expect(third.stopped.map((s) => s.table)).toEqual(['fact_passage']);
    expect(third.stopped[0]!.message).toMatch(
      /column fact_passage__rows\.speed is Nullable\(String\) in ClickHouse but Nullable\(Float64\)/,
    );
    const status = await pool.query(`SELECT table_name, status FROM tributary.table_status WHERE pipeline = 'roads_mig' ORDER BY 1`);
    expect(status.rows).toEqual([
      { table_name: 'agg_minute', status: 'ok' },
      { table_name: 'fact_passage', status: 'incompatible' },
      { table_name: 'pg_passage', status: 'ok' },
    ]);

    // The loader blocks it at start: its records are dead-lettered, the other tables load.
    const sinks = await openTableSinks(evolved, silent);
    const registry = new Registry();
    const blocked = await blockedTables(pool, evolved, registry, silent, sinks.problems);
    expect([...blocked.keys()]).toEqual(['fact_passage']);
    expect(await registry.getSingleMetricAsString('tributary_table_blocked')).toMatch(/table="fact_passage"} 1/);
    const rejected: RejectedRow[] = [];
    const recs = passages(3, rng(1));
    await new BatchLoader(pool, evolved, blocked, silent, sinks.sinks).load(
      [{ msgId: 'b1:passages', dataset: 'passages', seq: 1, ingestedAt: T0, records: recs }],
      async (rows) => void rejected.push(...rows),
    );
    expect(rejected.map((x) => [x.table.name, x.index, x.error.code])).toEqual([
      ['fact_passage', 0, 'TRIB_E_SCHEMA_INCOMPATIBLE'],
      ['fact_passage', 1, 'TRIB_E_SCHEMA_INCOMPATIBLE'],
      ['fact_passage', 2, 'TRIB_E_SCHEMA_INCOMPATIBLE'],
    ]);
    expect((await appendCounts('mig')).stored).toBe(0);
    expect((await pool.query('SELECT count(*)::int AS n FROM warehouse.pg_passage')).rows[0].n).toBe(3);
    sinks.close();
  });
});

describe('append into ClickHouse', () => {
  it('is exactly once under redelivery, a write whose ledger commit never happened, and a lost visibility marker', async () => {
    const p = pipelineOf(spec('app'));
    await migrateTables(p);
    // No background merges: copies of a row stay stored, so only FINAL can make them one.
    await ch.query('SYSTEM STOP MERGES app.fact_passage__rows');
    const sinks = await openTableSinks(p, silent);
    const loader = new BatchLoader(pool, p, new Map(), silent, sinks.sinks);
    const r = rng(7);
    const items = (await processed(p, passages(400, r), r, 'a')).filter((i) => i.dataset === 'passages');
    const total = items.reduce((n, i) => n + i.records.length, 0);

    // The loader died after writing message 0 to ClickHouse, before its ledger commit: invisible.
    // So are the rows of a message written the same way and then dead-lettered, never loaded.
    const writer = sinks.sinks.get('fact_passage')!;
    const ghost: LoadItem = { ...items[1]!, msgId: 'ghost:passages', records: passages(5, r, 9000) };
    for (const it of [items[0]!, ghost]) {
      await writeOnly(writer, it);
    }
    expect(await appendCounts('app')).toEqual({ visible: 0, distinct: 0, stored: items[0]!.records.length + 5 });

    // Everything in random flushes, a third of the messages twice, by two loaders.
    const other = new BatchLoader(pool, p, new Map(), silent, sinks.sinks);
    const deliveries = [...items, ...items.filter(() => r() < 0.33)].sort(() => r() - 0.5);
    for (let i = 0, n = 0; i < deliveries.length; i += n) {
      n = 1 + Math.floor(r() * 6);
      const unique = [...new Map(deliveries.slice(i, i + n).map((d) => [d.msgId, d])).values()];
      await (r() < 0.5 ? loader : other).load(unique, noRejects);
    }
    expect(await appendCounts('app')).toMatchObject({ visible: total, distinct: total });

    // The marker of one message was lost (crash after the ledger commit): its redelivery restores it.
    const lost = items[3]!;
    await ch.query(`ALTER TABLE app.fact_passage__loads DELETE WHERE _msg_id = '${lost.msgId}'`);
    await waitFor(async () => (await appendCounts('app')).visible === total - lost.records.length, {
      timeoutMs: 30_000,
      what: 'the marker deletion (a mutation) to apply',
    });
    await loader.load([lost], noRejects);
    expect(await appendCounts('app')).toMatchObject({ visible: total, distinct: total });

    // Same rows as PostgreSQL got, value for value.
    const got = await ch.query<Rec>(
      `SELECT event_id, gantry_id, speed, passengers, at, day, checked, extra FROM app.fact_passage ORDER BY event_id`,
    );
    const pgRows = (await pool.query(`SELECT event_id FROM warehouse.pg_passage WHERE _msg_id LIKE 'a-%'`)).rows as Rec[];
    expect(got.map((x) => x.event_id).sort()).toEqual(pgRows.map((x) => x.event_id).sort());
    const byId = new Map(items.flatMap((i) => i.records).map((x) => [x.event_id, x]));
    for (const row of got) {
      const want = byId.get(row.event_id)!;
      expect(row).toEqual({
        event_id: want.event_id,
        gantry_id: want.gantry_id,
        speed: want.speed,
        passengers: String(want.passengers),
        at: chTime(Date.parse(want.at as string)),
        day: want.day,
        checked: want.checked ? 1 : 0,
        extra: JSON.stringify(want.extra),
      });
    }
    const ledger = await pool.query(
      `SELECT count(*)::int AS n, sum(written)::int AS w, sum(inserted)::int AS i, sum(updated + unchanged + skipped)::int AS rest
       FROM tributary.load_ledger WHERE pipeline = 'roads_app' AND table_name = 'fact_passage'`,
    );
    // ClickHouse cannot tell an update from an insert: every stored row counts inserted.
    expect(ledger.rows[0]).toEqual({ n: items.length, w: total, i: total, rest: 0 });
    sinks.close();
  });

  it('dead-letters a value a ClickHouse column cannot hold, with its field and index, and loads the rest', async () => {
    const p = pipelineOf(spec('bad'));
    await migrateTables(p);
    await ch.query('SYSTEM STOP MERGES bad.fact_passage__rows');
    const sinks = await openTableSinks(p, silent);
    const recs = passages(4, rng(3));
    recs[1]!.at = '1969-07-20T20:17:40.000Z'; // before 1970: no ClickHouse DateTime holds it
    recs[2]!.passengers = 1e21; // beyond Int64
    const rejected: RejectedRow[] = [];
    await new BatchLoader(pool, p, new Map(), silent, sinks.sinks).load(
      [{ msgId: 'x1:passages', dataset: 'passages', seq: 1, ingestedAt: T0, sourceTime: '2026-12-06T10:11:12.345678Z', records: recs }],
      async (rows) => void rejected.push(...rows),
    );
    expect(rejected.map((x) => [x.table.name, x.index, x.error.code, x.error.location.field])).toEqual([
      ['fact_passage', 1, 'TRIB_E_LOAD_REJECTED', 'at'],
      ['fact_passage', 2, 'TRIB_E_LOAD_REJECTED', 'passengers'],
      ['pg_passage', 2, 'TRIB_E_LOAD_REJECTED', undefined], // PostgreSQL's bigint refuses it too
    ]);
    expect(rejected[0]!.error.message).toMatch(/outside 1970-01-01\.\.2105-12-31/);
    const rows = await ch.query<{ event_id: string; _record: number; _source_time: string }>(
      'SELECT event_id, _record, _source_time FROM bad.fact_passage ORDER BY _record',
    );
    // The message's source time, in whole seconds (ClickHouse 18.16's DateTime).
    expect(rows).toEqual([
      { event_id: recs[0]!.event_id, _record: 0, _source_time: '2026-12-06 10:11:12' },
      { event_id: recs[3]!.event_id, _record: 3, _source_time: '2026-12-06 10:11:12' },
    ]);
    const ledger = await pool.query(
      `SELECT records, written FROM tributary.load_ledger WHERE pipeline = 'roads_bad' AND table_name = 'fact_passage'`,
    );
    expect(ledger.rows).toEqual([{ records: 2, written: 2 }]);
    sinks.close();
  });

  it('stores names and values that would break SQL text as they are', async () => {
    const db = 'odd';
    const p = pipelineOf(`
pipeline: odd
connections:
  analytics: { kind: clickhouse, url: env:CH_TEST_URL, password: env:CH_TEST_PASSWORD, database: ${db} }
sources:
  in: { kind: push }
datasets:
  rows:
    from: in
    fields: { select: string, from: string, format: integer, values: json }
tables:
  order: { from: rows, mode: append, sink: { connection: analytics } }
`);
    await migrateTables(p);
    const sinks = await openTableSinks(p, silent);
    const nasty = [
      "'); DROP TABLE odd.order__rows; --",
      'back\\slash `tick` "quote" \'single\'',
      'line\nbreak\ttab\r\u0000nul',
      'ünïcödé 🚦 \u2028',
      'FORMAT TabSeparated',
    ];
    const recs = nasty.map((s, i) => ({ select: s, from: s.split('').reverse().join(''), format: i, values: { s, [s]: [s] } }));
    await new BatchLoader(pool, p, new Map(), silent, sinks.sinks).load(
      [{ msgId: `m'1\\"; DROP`, dataset: 'rows', seq: 1, ingestedAt: T0, records: recs }],
      noRejects,
    );
    const got = await ch.query<Rec>('SELECT `select`, `from`, `format`, `values`, _msg_id FROM odd.`order` ORDER BY `format`');
    expect(got).toEqual(
      recs.map((x) => ({
        select: x.select,
        // Reversed, 🚦's surrogate pair is split: the lone halves become U+FFFD, as on the PostgreSQL path.
        from: x.from.replace(/[\uD800-\uDFFF]/g, '\uFFFD'),
        format: String(x.format),
        values: JSON.stringify(x.values),
        _msg_id: `m'1\\"; DROP`,
      })),
    );
    sinks.close();
  });
});

describe('aggregate into ClickHouse', () => {
  it.each([21, 22])(
    'equals the brute-force windows under random splits, flushes, redeliveries, two loaders and uncommitted writes (seed %i)',
    async (seed) => {
      const db = `agg${seed}`;
      const p = pipelineOf(spec(db));
      await migrateTables(p);
      await ch.query(`SYSTEM STOP MERGES ${db}.agg_minute__partials`);
      const sinks = await openTableSinks(p, silent);
      const r = rng(seed);
      const recs = passages(1500, r);
      const items = (await processed(p, recs, r, `s${seed}`)).filter((i) => i.dataset === 'per_minute');
      const writer = sinks.sinks.get('agg_minute')!;
      // Writes whose ledger commit never happened (the loader died in between), before and after
      // their real load, and of messages never loaded at all (dead-lettered afterwards).
      const ghosts = (await processed(p, passages(200, r, 5000), r, `ghost${seed}`)).filter((i) => i.dataset === 'per_minute');
      for (const it of [...ghosts, ...items.filter(() => r() < 0.2)]) {
        await writeOnly(writer, it);
      }
      const loaders = [new BatchLoader(pool, p, new Map(), silent, sinks.sinks), new BatchLoader(pool, p, new Map(), silent, sinks.sinks)];
      const deliveries = [...items, ...items.filter(() => r() < 0.3)].sort(() => r() - 0.5);
      for (let i = 0, n = 0; i < deliveries.length; i += n) {
        n = 1 + Math.floor(r() * 8);
        const unique = [...new Map(deliveries.slice(i, i + n).map((d) => [d.msgId, d])).values()];
        await loaders[Math.floor(r() * 2)]!.load(unique, noRejects);
      }
      for (const it of items.filter(() => r() < 0.2)) {
        await writeOnly(writer, it);
      }
      await expectBruteForce(p, db, recs);
      sinks.close();
    },
  );
});

describe('the loader process', () => {
  let nats: NatsServer;
  let nc: NatsConnection;
  afterAll(async () => {
    await nc?.close();
  });

  it('SIGKILLed mid-load, with ClickHouse killed mid-load and messages published twice, loses and doubles nothing', async () => {
    const db = 'live';
    nats = await NatsServer.start();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-ch-live-'));
    writeFileSync(path.join(dir, 'roads.yaml'), spec(db));
    const p = loadPipelineFile(path.join(dir, 'roads.yaml'));
    const databaseUrl = await pg.createDatabase('live');
    // A short ack wait brings back what a killed loader held; a short duplicate window lets a
    // message be stored twice, as a transformer republishing it after the window would.
    await migrate({
      natsUrl: nats.url,
      databaseUrl,
      pipelines: [p],
      topology: { ...DEFAULT_TOPOLOGY, ackWaitMs: 2_000, duplicateWindowMs: 500 },
      logger: silent,
    });
    nc = await connect({ servers: nats.url });
    const js = jetstream(nc);
    const r = rng(99);
    const recs = passages(3000, r);
    const items = await processed(p, recs, r, 'live');
    const publish = (it: LoadItem) =>
      js.publish(subjects.processed(p.name, it.dataset), Buffer.from(it.records.map((x) => JSON.stringify(x)).join('\n')), {
        msgID: it.msgId,
        headers: makeHeaders({
          [H.pipeline]: p.name,
          [H.dataset]: it.dataset,
          [H.count]: it.records.length,
          [H.contentType]: NDJSON,
          [H.ingestedAt]: T0,
        }),
      });
    const live = new Pool({ connectionString: databaseUrl, max: 2 });
    live.on('error', () => undefined);
    const pgLedger = async (): Promise<number> =>
      (await live.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE pipeline = $1`, [p.name])).rows[0].n as number;
    const port = await freePort();
    const env = {
      NATS_URL: nats.url,
      DATABASE_URL: databaseUrl,
      TRIBUTARY_PIPELINES: dir,
      CH_TEST_URL: ch.url,
      CH_TEST_PASSWORD: PASSWORD,
      LOADER_PORT: String(port),
      HOST: '127.0.0.1',
      LOADER_BATCH_MESSAGES: '4',
      LOG_LEVEL: 'warn',
    };
    const spawnLoader = () =>
      spawnService({ name: 'loader', script: LOADER, env, readyUrl: `http://127.0.0.1:${port}/readyz`, readyTimeoutMs: 60_000 });

    // Input batches in three parts: each input's messages (passages, per_minute) stay together.
    const cut = (f: number) => Math.floor((items.length * f) / 2) * 2;
    const [first, second, third] = [items.slice(0, cut(0.4)), items.slice(cut(0.4), cut(0.7)), items.slice(cut(0.7))];
    const ledgerOf = async (part: LoadItem[]): Promise<number> =>
      (
        await live.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE pipeline = $1 AND msg_id = ANY($2)`, [
          p.name,
          part.map((i) => i.msgId),
        ])
      ).rows[0].n as number;

    // The loader is SIGKILLed while it loads the first part.
    for (const it of first) await publish(it);
    let loader = await spawnLoader();
    await waitFor(async () => (await pgLedger()) >= 8, { timeoutMs: 60_000, what: 'the first loads' });
    loader.kill('SIGKILL');
    await loader.exited;

    // A new loader goes on; ClickHouse dies; the second part arrives, with some messages of the
    // first part stored a second time (their duplicate window has passed).
    loader = await spawnLoader();
    await ch.kill();
    for (const it of second) await publish(it);
    for (const it of first.filter((_, i) => i % 5 === 0)) {
      await waitFor(async () => !(await publish(it)).duplicate, {
        timeoutMs: 30_000,
        intervalMs: 200,
        what: `a second copy of ${it.msgId}`,
      });
    }
    // The loader fails its batches on ClickHouse, says so, and retries them: nothing of the second part commits.
    await waitFor(async () => /transient failure; retrying batch/.test(loader.logTail(200)) || undefined, {
      timeoutMs: 60_000,
      what: 'the loader to retry a batch on the ClickHouse outage',
    });
    expect((await httpGet(`http://127.0.0.1:${port}/readyz`)).body).toMatch(/ClickHouse at .* unreachable/);
    expect(await ledgerOf(second)).toBe(0);
    await ch.restart();
    for (const it of third) await publish(it);

    // One ledger row per message and table it feeds.
    const ledgerRows = items.reduce((n, i) => n + p.tables.filter((t) => t.from === i.dataset).length, 0);
    await waitFor(async () => (await pgLedger()) === ledgerRows && (await appendCounts(db)).visible === recs.length, {
      timeoutMs: 180_000,
      intervalMs: 500,
      what: 'every message loaded and visible',
    });
    const counts = await appendCounts(db);
    expect(counts).toMatchObject({ visible: recs.length, distinct: recs.length });
    expect(counts.stored).toBeGreaterThanOrEqual(recs.length);
    await expectBruteForce(p, db, recs);
    const perTable = await live.query(
      `SELECT table_name, count(*)::int AS messages, sum(records)::int AS records FROM tributary.load_ledger WHERE pipeline = $1 GROUP BY 1 ORDER BY 1`,
      [p.name],
    );
    const partials = items.filter((i) => i.dataset === 'per_minute').reduce((n, i) => n + i.records.length, 0);
    const inputs = items.filter((i) => i.dataset === 'passages').length;
    expect(perTable.rows).toEqual([
      { table_name: 'agg_minute', messages: inputs, records: partials },
      { table_name: 'fact_passage', messages: inputs, records: recs.length },
      { table_name: 'pg_passage', messages: inputs, records: recs.length },
    ]);
    expect((await live.query('SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS d FROM warehouse.pg_passage')).rows[0]).toEqual({
      n: recs.length,
      d: recs.length,
    });
    await loader.stop();
    await live.end();
  });
});
