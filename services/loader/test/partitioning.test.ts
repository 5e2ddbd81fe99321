/**
 * Time-partitioned tables against a real PostgreSQL: partitions made on demand for out-of-order
 * rows over many days, exactly once under redelivery and rollback, two loaders racing to create
 * the same partition, the DEFAULT partition (rows without a time, rows that were there before
 * their partition, rows past retention), evolution (indexes added and dropped, a changed partition
 * spec stopping only that table), and retention archiving then dropping exactly the old partitions.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createLogger } from '@tributary/runtime/logger';
import { ensureWarehouse } from '@tributary/warehouse/ensure-warehouse';
import { guardClient } from '@tributary/warehouse/guard-client';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { Registry } from 'prom-client';
import { BatchLoader, type RejectedRow } from '../src/batch-loader';
import { blockedTables } from '../src/blocked-tables';
import { RetentionScheduler, retentionMetrics } from '../src/retention';
import { localArchive, type ArchivePartition } from '../src/table-archive';
import { load, message, noRejects, startWarehouse, type Warehouse } from './warehouse-fixture';

jest.setTimeout(180_000);

const spec = (factOptions: string) => `
pipeline: parts
sources:
  in: { kind: push }
datasets:
  events:
    from: in
    fields:
      event_id: { type: string, required: true }
      at: timestamp
      gantry: string
  raw_events:
    from: in
    fields: { event_id: string, at: timestamp }
tables:
  fact_event:
    from: events
    mode: append
    key: [event_id, at]
    partition: { by: at, interval: day, premake: 2 }
    retention: 30d
${factOptions}
  fact_raw:
    from: raw_events
    mode: append
    partition: { by: at }
`;
const SPEC = spec('    indexes: [{ columns: [gantry, at] }]');

const DAY = 86_400_000;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
/** A time `days` (fractional) after today's UTC midnight. */
const day = (days: number) => new Date(TODAY + days * DAY).toISOString();
/** The partition name of a time. */
const partOf = (table: string, iso: string) => `${table}_p${iso.slice(0, 10).replace(/-/g, '')}`;
const silent = createLogger('test', 'silent');

async function rows(w: Warehouse, table: string): Promise<{ part: string; event_id: string; at: Date }[]> {
  return (
    await w.pool.query(`SELECT tableoid::regclass::text AS part, event_id, at FROM warehouse.${table} ORDER BY event_id, at`)
  ).rows.map((r) => ({ ...r, part: String(r.part).replace(/^warehouse\./, '') }));
}
async function partitions(w: Warehouse, table: string): Promise<string[]> {
  const r = await w.pool.query(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`,
    [`warehouse.${table}`],
  );
  return r.rows.map((x) => x.name as string);
}
/** The same spec in another file, for a migrate of the same database. */
function respec(text: string): Pipeline {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-parts-'));
  writeFileSync(path.join(dir, 'p.yaml'), text);
  return loadPipelineFile(path.join(dir, 'p.yaml'));
}
async function migrate(w: Warehouse, p: Pipeline) {
  const c = guardClient(await w.pool.connect());
  try {
    return await ensureWarehouse(c, p);
  } finally {
    c.release();
  }
}

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

describe('partitioned loading', () => {
  it('migrate makes the partitioned table, its DEFAULT, premade partitions and the declared index', async () => {
    const r = await w.pool.query(`SELECT relkind FROM pg_class WHERE oid = 'warehouse.fact_event'::regclass`);
    expect(r.rows[0].relkind).toBe('p');
    expect(await partitions(w, 'fact_event')).toEqual(
      ['fact_event_default', partOf('fact_event', day(0)), partOf('fact_event', day(1)), partOf('fact_event', day(2))].sort(),
    );
    // The declared index is on the parent and on every partition.
    const ix = await w.pool.query(`SELECT tablename FROM pg_indexes WHERE schemaname = 'warehouse' AND indexdef LIKE '%(gantry, at)%'`);
    expect(ix.rows.map((x) => x.tablename).sort()).toEqual(['fact_event', ...(await partitions(w, 'fact_event'))].sort());
  });

  it('creates partitions on demand for out-of-order rows over many days, each row in its own', async () => {
    const offsets = [5.5, -3.2, 0.1, 4.9, -1.01, 2.5, -2.7, 3.3, 1.2, -0.5, 5.1, -3.9];
    const msgs = offsets.map((o, i) =>
      message(`ooo-${i}`, 'events', [
        { event_id: `e${i}`, at: day(o), gantry: 'G1' },
        { event_id: `f${i}`, at: day(-o), gantry: 'G2' },
      ]),
    );
    // Three flushes, in an order unrelated to time.
    await load(w, msgs.slice(0, 5));
    await load(w, msgs.slice(5, 7));
    await load(w, msgs.slice(7));
    const got = await rows(w, 'fact_event');
    expect(got).toHaveLength(offsets.length * 2);
    for (const r of got) expect(r.part).toBe(partOf('fact_event', r.at.toISOString()));
    const days = new Set(got.map((r) => r.part));
    expect(days.size).toBeGreaterThanOrEqual(11);
    for (const d of days) expect(await partitions(w, 'fact_event')).toContain(d);
  });

  it('stays exactly once under redelivery: the same messages again change nothing', async () => {
    const before = await rows(w, 'fact_event');
    const ledger = (await w.pool.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE table_name = 'fact_event'`)).rows[0].n;
    const again = ['ooo-0', 'ooo-3', 'ooo-11'].map((id) =>
      message(id, 'events', [{ event_id: 'never-written', at: day(6.5), gantry: 'G9' }]),
    );
    const summary = await new BatchLoader(w.pool, w.pipeline).load(again, noRejects);
    expect(summary.find((s) => s.table === 'fact_event')).toMatchObject({ messages: 0, replayed: 3, written: 0 });
    expect(await rows(w, 'fact_event')).toEqual(before);
    expect((await w.pool.query(`SELECT count(*)::int AS n FROM tributary.load_ledger WHERE table_name = 'fact_event'`)).rows[0].n).toBe(
      ledger,
    );
  });

  it('does not trust a partition made by a transaction that rolled back', async () => {
    const loader = new BatchLoader(w.pool, w.pipeline);
    const good = message('rb-good', 'events', [{ event_id: 'rb1', at: day(9.5), gantry: 'G1' }]);
    // A record without its key refuses the whole flush: the partition of day 9 it made rolls back.
    const bad = message('rb-bad', 'events', [{ event_id: null, at: day(9.6) }]);
    await expect(loader.load([good, bad], noRejects)).rejects.toMatchObject({ code: 'TRIB_E_LOAD_REJECTED' });
    expect(await partitions(w, 'fact_event')).not.toContain(partOf('fact_event', day(9.5)));
    await loader.load([good], noRejects);
    const rejected: RejectedRow[] = [];
    await loader.load([bad], async (r) => {
      rejected.push(...r);
    });
    expect(rejected.map((r) => r.error.code)).toEqual(['TRIB_E_LOAD_REJECTED']);
    // The same loader made the partition again instead of sending the row to DEFAULT.
    expect((await rows(w, 'fact_event')).filter((r) => r.event_id === 'rb1').map((r) => r.part)).toEqual([partOf('fact_event', day(9.5))]);
  });

  it('lets two loaders race to create the same partitions, each message landing once', async () => {
    const other = new Pool({
      connectionString: (w.pool as unknown as { options: { connectionString: string } }).options.connectionString,
      max: 4,
    });
    other.on('error', () => undefined);
    try {
      const a = new BatchLoader(w.pool, w.pipeline);
      const b = new BatchLoader(other, w.pipeline);
      for (let round = 0; round < 8; round++) {
        const d = 20 + round; // a new day each round: both loaders need its partition at once
        const mine = (who: string) =>
          message(`race-${round}-${who}`, 'events', [{ event_id: `${who}${round}`, at: day(d + 0.25), gantry: who }]);
        await Promise.all([a.load([mine('a')], noRejects), b.load([mine('b')], noRejects)]);
        // Both get the same message, as two replicas do after a redelivery (its ledger row makes one wait, then skip).
        const shared = message(`race-${round}-shared`, 'events', [{ event_id: `s${round}`, at: day(d + 30.75), gantry: 'S' }]);
        await Promise.all([a.load([shared], noRejects), b.load([shared], noRejects)]);
      }
    } finally {
      await other.end();
    }
    const raced = (await rows(w, 'fact_event')).filter((r) => /^[abs]\d$/.test(r.event_id));
    expect(raced).toHaveLength(24);
    for (const r of raced) expect(r.part).toBe(partOf('fact_event', r.at.toISOString()));
    const parts = await partitions(w, 'fact_event');
    for (let round = 0; round < 8; round++) {
      expect(parts).toContain(partOf('fact_event', day(20 + round)));
      expect(parts).toContain(partOf('fact_event', day(50 + round)));
    }
  });
});

describe('weeks, months and date columns', () => {
  it('routes rows on both sides of each boundary to the partition PostgreSQL routes them to, aggregates included', async () => {
    const cal = await startWarehouse(
      `
pipeline: cal
sources:
  in: { kind: push }
datasets:
  ev:
    from: in
    fields: { event_id: { type: string, required: true }, at: timestamp, on: date, gantry: string }
  per_hour:
    from: ev
    steps: [{ window: { tumbling: 1h, time: at, key: [gantry], aggregate: { vehicles: count() } } }]
tables:
  by_week: { from: ev, mode: append, partition: { by: at, interval: week, premake: 0 } }
  by_month: { from: ev, mode: upsert, key: [event_id, on], partition: { by: on, interval: month, premake: 0 } }
  agg_hour: { from: per_hour, mode: aggregate, partition: { by: window_start } }
`,
      w.pg,
    );
    try {
      const recs = [
        ['sun', '2024-03-03T23:59:59.999Z', '2024-02-29'],
        ['mon', '2024-03-04T00:00:00Z', '2024-03-01'],
        ['offset', '2024-03-04T01:00:00+02:00', '2023-12-31'], // Sunday 23:00 UTC
        ['newyear', '2025-01-01T00:00:00Z', '2025-01-01'],
      ].map(([event_id, at, on]) => ({ event_id, at, on }));
      await load(cal, [message('cal-1', 'ev', recs)]);
      const parts = async (table: string) =>
        (await cal.pool.query(`SELECT event_id, tableoid::regclass::text AS part FROM warehouse.${table} ORDER BY event_id`)).rows.map(
          (r) => `${r.event_id}:${String(r.part).replace('warehouse.', '')}`,
        );
      expect(await parts('by_week')).toEqual([
        'mon:by_week_p20240304',
        'newyear:by_week_p20241230',
        'offset:by_week_p20240226',
        'sun:by_week_p20240226',
      ]);
      expect(await parts('by_month')).toEqual([
        'mon:by_month_p20240301',
        'newyear:by_month_p20250101',
        'offset:by_month_p20231201',
        'sun:by_month_p20240201',
      ]);
      // Partial aggregates of one window add up in its partition, whatever flush they come in.
      const partial = (start: string, vehicles: number) => ({
        window_start: start,
        window_end: new Date(new Date(start).getTime() + 3_600_000).toISOString(),
        record_count: vehicles,
        gantry: 'G1',
        vehicles,
        max_event_time: start,
        late_records: 0,
        final: false,
      });
      await load(cal, [message('agg-1', 'per_hour', [partial('2024-03-03T23:00:00Z', 2), partial('2024-03-04T00:00:00Z', 1)])]);
      await load(cal, [message('agg-2', 'per_hour', [partial('2024-03-03T23:00:00Z', 3)])]);
      const agg = await cal.pool.query(
        `SELECT window_start, vehicles::int, tableoid::regclass::text AS part FROM warehouse.agg_hour ORDER BY window_start`,
      );
      expect(agg.rows.map((r) => [r.vehicles, r.part])).toEqual([
        [5, 'warehouse.agg_hour_p20240303'],
        [1, 'warehouse.agg_hour_p20240304'],
      ]);
    } finally {
      await cal.pool.end();
    }
  });
});

describe('the DEFAULT partition', () => {
  it('takes rows without a time, and rows past retention', async () => {
    await load(w, [message('def-1', 'raw_events', [{ event_id: 'no-time' }, { event_id: 'timed', at: day(0.5) }])]);
    expect((await rows(w, 'fact_raw')).map((r) => [r.event_id, r.part])).toEqual([
      ['no-time', 'fact_raw_default'],
      ['timed', partOf('fact_raw', day(0.5))],
    ]);
    // 40 days old with a 30-day retention: no partition is made for it; retention archives it from DEFAULT.
    await load(w, [message('def-2', 'events', [{ event_id: 'ancient', at: day(-40), gantry: 'G1' }])]);
    expect((await rows(w, 'fact_event')).find((r) => r.event_id === 'ancient')?.part).toBe('fact_event_default');
    expect(await partitions(w, 'fact_event')).not.toContain(partOf('fact_event', day(-40)));
  });

  it('moves rows that reached DEFAULT before their partition existed into it when it is made', async () => {
    // Rows written while the partition was missing (by hand here; by a loader without the right to create partitions in production).
    await w.pool.query(`INSERT INTO warehouse.fact_raw (event_id, at, _msg_id) VALUES ('early1', $1, 'manual'), ('early2', $2, 'manual')`, [
      day(-6.5),
      day(-6.1),
    ]);
    expect((await rows(w, 'fact_raw')).filter((r) => r.event_id.startsWith('early')).map((r) => r.part)).toEqual([
      'fact_raw_default',
      'fact_raw_default',
    ]);
    await load(w, [message('def-3', 'raw_events', [{ event_id: 'late', at: day(-6.3) }])]);
    const got = (await rows(w, 'fact_raw')).filter((r) => ['early1', 'early2', 'late'].includes(r.event_id));
    const target = partOf('fact_raw', day(-6.3)); // all three fall in day -7
    expect(got.map((r) => [r.event_id, r.part])).toEqual([
      ['early1', target],
      ['early2', target],
      ['late', target],
    ]);
    expect((await rows(w, 'fact_raw')).filter((r) => r.part === 'fact_raw_default').map((r) => r.event_id)).toEqual(['no-time']);
  });
});

describe('evolution', () => {
  it('adds a declared index to the table and all its partitions, and drops it when it leaves the spec', async () => {
    const more = respec(spec('    indexes: [{ columns: [gantry, at] }, { columns: [_loaded_at], method: brin }]'));
    const r = await migrate(w, more);
    expect(r.stopped).toEqual([]);
    expect(r.actions).toContain('created index fact_event__loaded_at_brin_idx on fact_event (_loaded_at)');
    const count = async (name: string) =>
      (await w.pool.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'warehouse' AND indexdef LIKE $1`, [`%${name}%`]))
        .rows[0].n as number;
    expect(await count('USING brin (_loaded_at)')).toBe((await partitions(w, 'fact_event')).length + 1);
    // A hand-made index is never touched; the spec's removed one is dropped.
    await w.pool.query('CREATE INDEX by_hand ON warehouse.fact_event (gantry)');
    const fewer = await migrate(w, respec(spec('')));
    expect(fewer.actions).toEqual(
      expect.arrayContaining(['dropped index fact_event__loaded_at_brin_idx on fact_event (no longer declared)']),
    );
    expect(fewer.actions).toEqual(expect.arrayContaining(['dropped index fact_event_gantry_at_idx on fact_event (no longer declared)']));
    expect(await count('USING brin (_loaded_at)')).toBe(0);
    expect(await count('by_hand')).toBeGreaterThan(0);
    expect((await migrate(w, w.pipeline)).stopped).toEqual([]);
  });

  it('stops only the table whose partition spec changed', async () => {
    const changed = respec(SPEC.replace('partition: { by: at, interval: day, premake: 2 }', 'partition: { by: at, interval: month }'));
    const r = await migrate(w, changed);
    expect(r.stopped.map((s) => s.table)).toEqual(['fact_event']);
    expect(r.stopped[0]!.message).toMatch(/fact_event is partitioned by day in the warehouse but by month in/);
    const status = await w.pool.query(`SELECT table_name, status FROM tributary.table_status WHERE pipeline = 'parts' ORDER BY 1`);
    expect(status.rows).toEqual([
      { table_name: 'fact_event', status: 'incompatible' },
      { table_name: 'fact_raw', status: 'ok' },
    ]);
    // The loader dead-letters that table's records and goes on with the other.
    const blocked = await blockedTables(w.pool, changed, new Registry(), silent);
    expect([...blocked.keys()]).toEqual(['fact_event']);
    const rejected: RejectedRow[] = [];
    await new BatchLoader(w.pool, changed, blocked).load(
      [message('evo-1', 'events', [{ event_id: 'x', at: day(0.2) }]), message('evo-2', 'raw_events', [{ event_id: 'y', at: day(0.2) }])],
      async (rr) => {
        rejected.push(...rr);
      },
    );
    expect(rejected.map((x) => [x.table.name, x.error.code])).toEqual([['fact_event', 'TRIB_E_SCHEMA_INCOMPATIBLE']]);
    expect((await rows(w, 'fact_raw')).some((x) => x.event_id === 'y')).toBe(true);
    // Partitioning a table that exists unpartitioned is the same kind of change.
    const unpartitioned = respec(SPEC.replace('    partition: { by: at, interval: day, premake: 2 }\n    retention: 30d\n', ''));
    expect((await migrate(w, unpartitioned)).stopped[0]?.message).toMatch(
      /fact_event is partitioned by at in the warehouse but not partitioned/,
    );
    expect((await migrate(w, w.pipeline)).stopped).toEqual([]);
  });
});

describe('retention', () => {
  let rw: Warehouse;
  let archiveDir: string;
  const NOW = TODAY + 33 * DAY + 3_600_000; // 33 days on: cutoff (30d) at day 3, 01:00
  beforeAll(async () => {
    // fact_raw: retention without an archive.
    rw = await startWarehouse(
      SPEC.replace(/partition: \{ by: at \}\n$/, 'partition: { by: at }\n    retention: 30d\n    retention_archive: false\n'),
      w.pg,
    );
    archiveDir = mkdtempSync(path.join(os.tmpdir(), 'trib-archive-'));
    const msgs = [-3, -2, -1, 0, 1, 2, 3, 4, 5].map((d) =>
      message(`ret-${d}`, 'events', [
        { event_id: `r${d}a`, at: day(d + 0.1), gantry: 'G1' },
        { event_id: `r${d}b`, at: day(d + 0.9), gantry: 'G2' },
      ]),
    );
    await load(rw, msgs);
    await load(rw, [message('ret-old', 'events', [{ event_id: 'expired', at: day(-45), gantry: 'G3' }])]);
    await load(rw, [
      message('ret-raw', 'raw_events', [
        { event_id: 'raw-old', at: day(-3.5) },
        { event_id: 'raw-new', at: day(5) },
      ]),
    ]);
  });

  const scheduler = (registry: Registry, archive: ArchivePartition) =>
    new RetentionScheduler(rw.pool, [rw.pipeline], {
      intervalMs: 3_600_000,
      archive,
      metrics: retentionMetrics(registry),
      logger: silent,
      now: () => NOW,
    });

  it('drops nothing when the archive cannot be written', async () => {
    const before = await partitions(rw, 'fact_event');
    const registry = new Registry();
    const failing: ArchivePartition = async (_t, gz) => {
      for await (const chunk of gz) if (chunk.length > 0) throw new Error('bucket unavailable');
      throw new Error('bucket unavailable');
    };
    const actions = await scheduler(registry, failing).runOnce();
    const failed = actions.filter((a) => a.status === 'error');
    expect(failed.length).toBe(7); // six partitions and the DEFAULT sweep
    expect(failed.every((a) => a.error === 'bucket unavailable')).toBe(true);
    expect((await partitions(rw, 'fact_event')).filter((p) => before.includes(p))).toEqual(before);
    expect((await rows(rw, 'fact_event')).length).toBe(19);
    expect(await registry.getSingleMetricAsString('tributary_retention_partitions_total')).toMatch(/outcome="failed"} 6/);
    const runs = await rw.pool.query(`SELECT count(*)::int AS n FROM tributary.retention_runs WHERE status = 'error'`);
    expect(runs.rows[0].n).toBe(7);
    // A table that keeps no archive needs none: its expired partition is dropped, its rows counted as discarded.
    const rawDropped = actions.filter((a) => a.table === 'fact_raw' && a.action === 'dropped');
    expect(rawDropped.every((a) => a.status === 'ok' && a.archive === undefined)).toBe(true);
    // The premade (empty) partitions expired too; one held a row.
    expect(rawDropped.filter((a) => a.rows! > 0)).toEqual([
      { pipeline: 'parts', table: 'fact_raw', partition: partOf('fact_raw', day(-3.5)), action: 'dropped', status: 'ok', rows: 1 },
    ]);
    expect((await rows(rw, 'fact_raw')).map((r) => r.event_id)).toEqual(['raw-new']);
    expect(await registry.getSingleMetricAsString('tributary_retention_rows_total')).toMatch(/table="fact_raw",disposition="discarded"} 1/);
  });

  it('archives then drops exactly the partitions entirely past retention, and expired DEFAULT rows', async () => {
    const before = await rows(rw, 'fact_event');
    const registry = new Registry();
    const actions = await scheduler(registry, localArchive(archiveDir)).runOnce();
    const dropped = actions.filter((a) => a.action === 'dropped');
    const expectedDropped = [-3, -2, -1, 0, 1, 2].map((d) => partOf('fact_event', day(d)));
    expect(dropped.map((a) => a.partition).sort()).toEqual(expectedDropped.sort());
    expect(dropped.every((a) => a.status === 'ok' && a.rows === 2)).toBe(true);
    const parts = await partitions(rw, 'fact_event');
    for (const p of expectedDropped) expect(parts).not.toContain(p);
    for (const d of [3, 4, 5, 33, 34, 35]) expect(parts).toContain(partOf('fact_event', day(d))); // kept, and premade at the new now
    expect((await rows(rw, 'fact_event')).map((r) => r.event_id).sort()).toEqual(['r3a', 'r3b', 'r4a', 'r4b', 'r5a', 'r5b']);

    // Each file holds exactly the rows of its partition.
    const files = readdirSync(path.join(archiveDir, 'parts', 'fact_event')).sort();
    expect(files).toEqual([...expectedDropped, 'fact_event_default'].map((p) => `${p}.ndjson.gz`).sort());
    for (const p of [...expectedDropped, 'fact_event_default']) {
      const lines = gunzipSync(readFileSync(path.join(archiveDir, 'parts', 'fact_event', `${p}.ndjson.gz`)))
        .toString('utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event_id: string; at: string; _msg_id: string });
      expect(lines.map((l) => l.event_id).sort()).toEqual(
        before
          .filter((r) => r.part === p)
          .map((r) => r.event_id)
          .sort(),
      );
      for (const l of lines) expect(new Date(l.at).toISOString()).toBe(before.find((r) => r.event_id === l.event_id)!.at.toISOString());
    }
    const swept = actions.find((a) => a.action === 'swept');
    expect(swept).toMatchObject({ partition: 'fact_event_default', status: 'ok', rows: 1 });

    const runs = await rw.pool.query(
      `SELECT partition_name, action, rows::int, range_start::text FROM tributary.retention_runs
       WHERE status = 'ok' AND table_name = 'fact_event' ORDER BY id`,
    );
    expect(runs.rows).toHaveLength(7);
    expect(runs.rows.find((r) => r.partition_name === partOf('fact_event', day(-3)))).toMatchObject({
      action: 'dropped',
      rows: 2,
      range_start: day(-3).slice(0, 10),
    });
    expect(await registry.getSingleMetricAsString('tributary_retention_partitions_total')).toMatch(/outcome="dropped"} 6/);
    expect(await registry.getSingleMetricAsString('tributary_retention_rows_total')).toMatch(/disposition="archived"} 13/);
    expect(readdirSync(path.join(archiveDir, 'parts'))).toEqual(['fact_event']); // nothing archived for fact_raw
    // A second round finds nothing more to drop.
    expect((await scheduler(new Registry(), localArchive(archiveDir)).runOnce()).filter((a) => a.action !== 'premade')).toEqual([]);
  });

  it('runs one round at a time across replicas', async () => {
    const lock = await rw.pool.connect();
    try {
      // Another replica holds the round.
      const key = createHash('sha256').update('tributary.retention').digest().readInt32BE(0);
      await lock.query('SELECT pg_advisory_lock($1, 0)', [key]);
      expect(await scheduler(new Registry(), localArchive(archiveDir)).runOnce()).toEqual([]);
      await lock.query('SELECT pg_advisory_unlock($1, 0)', [key]);
    } finally {
      lock.release();
    }
  });
});
