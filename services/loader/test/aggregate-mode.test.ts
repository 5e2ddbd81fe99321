/**
 * The `aggregate` load mode against a real PostgreSQL: partial aggregates produced by the window
 * step from random batch splits, loaded in random flushes with random redeliveries, merge to
 * exactly the brute-force result; rows already final count later records as late.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { ensureTable } from '@tributary/warehouse/table-ddl';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { PipelineRunner } from '../../transformer/src/pipeline-runner';
import { BatchLoader, type LoadItem, type RejectedRow } from '../src/batch-loader';

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
      passengers: integer
      at: { type: timestamp, required: true }
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
  agg_minute: { from: per_minute, mode: aggregate }
`;

let pg: PostgresServer;
let pool: Pool;
let pipeline: Pipeline;
let runner: PipelineRunner;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);
const noRejects = async (rows: RejectedRow[]): Promise<void> => {
  if (rows.length) throw new Error(`unexpected rejects: ${rows.map((r) => r.error.message).join('; ')}`);
};

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function records(n: number, r: () => number): Rec[] {
  return Array.from({ length: n }, () => ({
    gantry_id: `G${1 + Math.floor(r() * 4)}`,
    speed: r() < 0.05 ? null : Math.round(r() * 1200) / 10,
    passengers: 1 + Math.floor(r() * 4),
    at: new Date(T0 + Math.floor(r() * 15 * 60_000)).toISOString(),
  }));
}

/** The window step's partial rows per input message, as the transformer would publish them. */
async function processed(recs: Rec[], r: () => number, prefix: string): Promise<LoadItem[]> {
  const items: LoadItem[] = [];
  for (let i = 0, seq = 1; i < recs.length; seq++) {
    const n = 1 + Math.floor(r() * 60);
    const results = await runner.run('gantry', recs.slice(i, i + n), `${prefix}-${seq}`);
    const win = results.find((x) => x.dataset === 'per_minute')!;
    items.push({ msgId: `${prefix}-${seq}:per_minute`, dataset: 'per_minute', seq, ingestedAt: Date.now(), records: win.records });
    i += n;
  }
  return items;
}

/** Expected table rows computed record by record. */
function brute(
  recs: Rec[],
): Map<string, { n: number; sum: number; speeds: number; people: number; min: number | null; max: number | null }> {
  const out = new Map<string, { n: number; sum: number; speeds: number; people: number; min: number | null; max: number | null }>();
  for (const x of recs) {
    const start = new Date(Math.floor(Date.parse(x.at as string) / 60_000) * 60_000).toISOString();
    const k = `${start}|${x.gantry_id as string}`;
    const row = out.get(k) ?? { n: 0, sum: 0, speeds: 0, people: 0, min: null, max: null };
    row.n++;
    row.people += x.passengers as number;
    if (x.speed !== null) {
      const s = x.speed as number;
      row.speeds++;
      row.sum += s;
      row.min = row.min === null ? s : Math.min(row.min, s);
      row.max = row.max === null ? s : Math.max(row.max, s);
    }
    out.set(k, row);
  }
  return out;
}

async function table(): Promise<Rec[]> {
  return (await pool.query('SELECT * FROM warehouse.agg_minute ORDER BY window_start, gantry_id')).rows as Rec[];
}

beforeAll(async () => {
  pg = await PostgresServer.start();
  pool = new Pool({ connectionString: await pg.createDatabase('wh'), max: 4 });
  // An idle connection dropped at teardown must not fail the suite as an unhandled 'error'.
  pool.on('error', () => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-agg-'));
  writeFileSync(path.join(dir, 'roads.yaml'), SPEC);
  pipeline = loadPipelineFile(path.join(dir, 'roads.yaml'));
  runner = new PipelineRunner(pipeline, 'a-test-hmac-key-of-16+');
  await pool.query(BOOKKEEPING_DDL);
  for (const t of pipeline.tables) await ensureTable(pool, pipeline, t);
});

afterAll(async () => {
  await pool?.end();
  await stopAll();
});

beforeEach(async () => {
  await pool.query('TRUNCATE warehouse.agg_minute, tributary.load_ledger');
});

describe('aggregate load mode', () => {
  it.each([11, 12, 13])(
    'merges partials of random splits, flushes and redeliveries into exactly the brute-force table (seed %i)',
    async (seed) => {
      const r = rng(seed);
      const recs = records(1500, r);
      const items = await processed(recs, r, `s${seed}`);
      // Every message once, in random order, plus ~30% redelivered, flushed in random groups.
      const deliveries = [...items, ...items.filter(() => r() < 0.3)].sort(() => r() - 0.5);
      const loaders = [new BatchLoader(pool, pipeline), new BatchLoader(pool, pipeline)];
      for (let i = 0; i < deliveries.length;) {
        const n = 1 + Math.floor(r() * 8);
        const flush = deliveries.slice(i, i + n);
        // A flush repeats no message (the consumer never hands one message twice at once).
        const unique = [...new Map(flush.map((f) => [f.msgId, f])).values()];
        await loaders[Math.floor(r() * 2)]!.load(unique, noRejects);
        i += n;
      }
      const want = brute(recs);
      const rows = await table();
      expect(rows).toHaveLength(want.size);
      let total = 0;
      for (const row of rows) {
        const w = want.get(`${(row.window_start as Date).toISOString()}|${row.gantry_id as string}`)!;
        expect(w).toBeDefined();
        expect(Number(row.record_count)).toBe(w.n);
        expect(Number(row.vehicles)).toBe(w.n);
        expect(Number(row.people)).toBe(w.people);
        expect(Number(row.avg_speed_count)).toBe(w.speeds);
        expect(row.avg_speed_sum as number).toBeCloseTo(w.sum, 6);
        expect(row.avg_speed as number).toBeCloseTo(w.sum / w.speeds, 9);
        expect(row.slowest).toBe(w.min);
        expect(row.fastest).toBe(w.max);
        expect(row.congested).toBe(w.sum / w.speeds < 40 && w.n >= 3);
        expect(Number(row.late_records)).toBe(0);
        expect(row.final).toBe(false);
        total += Number(row.record_count);
      }
      expect(total).toBe(recs.length);
      const ledger = await pool.query('SELECT count(*)::int AS n FROM tributary.load_ledger');
      expect(ledger.rows[0].n).toBe(items.length);
    },
  );

  it('counts records merged into a row already marked final as late, and still adds them', async () => {
    const loader = new BatchLoader(pool, pipeline);
    const at = new Date(T0 + 5_000).toISOString();
    const rec = (speed: number): Rec => ({ gantry_id: 'G1', speed, passengers: 2, at });
    const first = await runner.run('gantry', [rec(50), rec(30)], 'in-1');
    await loader.load(
      [{ msgId: 'in-1:per_minute', dataset: 'per_minute', seq: 1, ingestedAt: Date.now(), records: first[1]!.records }],
      noRejects,
    );
    await pool.query('UPDATE warehouse.agg_minute SET final = true');
    const late = await runner.run('gantry', [rec(10), rec(20), rec(30)], 'in-2');
    await loader.load(
      [{ msgId: 'in-2:per_minute', dataset: 'per_minute', seq: 2, ingestedAt: Date.now(), records: late[1]!.records }],
      noRejects,
    );
    const [row] = await table();
    expect(Number(row!.record_count)).toBe(5);
    expect(Number(row!.late_records)).toBe(3);
    expect(row!.avg_speed).toBeCloseTo(28, 9);
    expect(row!.slowest).toBe(10);
    expect(row!.first_seen).toEqual(new Date(at));
    expect(row!.final).toBe(true);
  });
});
