import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { PipelineRunner } from '../pipeline-runner';

const YAML = `
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
          aggregate: { vehicles: count(), speeds: count(speed), avg_speed: avg(speed), people: sum(passengers), slowest: min(speed), fastest: max(speed), first_seen: min(at) }
          flags: { congested: "avg_speed < 40 and vehicles >= 3" }
  per_quarter:
    from: passages
    steps:
      - window: { hopping: { size: 15m, advance: 5m }, time: at, key: [gantry_id], aggregate: { vehicles: count(), avg_speed: avg(speed) } }
tables:
  agg_minute: { from: per_minute, mode: aggregate }
  agg_quarter: { from: per_quarter, mode: aggregate }
`;

const dir = mkdtempSync(path.join(tmpdir(), 'trib-window-'));
writeFileSync(path.join(dir, 'roads.yaml'), YAML);
const pipeline = loadPipelineFile(path.join(dir, 'roads.yaml'));
const runner = new PipelineRunner(pipeline, 'a-test-hmac-key-of-16+');
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

/** A seeded generator (mulberry32), so a failure can be replayed. */
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
    gantry_id: `G${1 + Math.floor(r() * 3)}`,
    speed: r() < 0.1 ? null : Math.round(r() * 1200) / 10,
    passengers: 1 + Math.floor(r() * 4),
    // 20 minutes of traffic, out of order.
    at: new Date(T0 + Math.floor(r() * 20 * 60_000)).toISOString(),
  }));
}

/** Splits `list` into random consecutive batches of 1..max. */
function split<T>(list: T[], r: () => number, max: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length;) {
    const n = 1 + Math.floor(r() * max);
    out.push(list.slice(i, i + n));
    i += n;
  }
  return out;
}

/** Merges partial rows the way the aggregate mode does, keyed by window start and gantry. */
function merge(rows: Rec[]): Map<string, Rec> {
  const out = new Map<string, Rec>();
  for (const row of rows) {
    const k = `${row.window_start as string}|${row.gantry_id as string}`;
    const cur = out.get(k);
    if (!cur) {
      out.set(k, { ...row });
      continue;
    }
    for (const [c, v] of Object.entries(row)) {
      if (v === null || ['window_start', 'window_end', 'gantry_id', 'final', 'congested'].includes(c)) continue;
      const have = cur[c];
      if (have === null) cur[c] = v;
      else if (c === 'slowest' || c === 'first_seen') cur[c] = (v as number) < (have as number) ? v : have;
      else if (c === 'fastest' || c === 'max_event_time') cur[c] = (v as number) > (have as number) ? v : have;
      else cur[c] = (have as number) + (v as number);
    }
  }
  return out;
}

/** What each tumbling minute must hold, computed record by record. */
function bruteMinute(recs: Rec[]): Map<string, Rec> {
  const out = new Map<string, Rec>();
  for (const rec of recs) {
    const t = Date.parse(rec.at as string);
    const start = new Date(Math.floor(t / 60_000) * 60_000).toISOString();
    const k = `${start}|${rec.gantry_id as string}`;
    const row = out.get(k) ?? { record_count: 0, vehicles: 0, speeds: 0, sum: 0, people: 0, slowest: null, fastest: null, first: null };
    row.record_count = (row.record_count as number) + 1;
    row.vehicles = (row.vehicles as number) + 1;
    row.people = (row.people as number) + (rec.passengers as number);
    row.first = row.first === null || (rec.at as string) < (row.first as string) ? rec.at : row.first;
    if (rec.speed !== null) {
      row.speeds = (row.speeds as number) + 1;
      row.sum = (row.sum as number) + (rec.speed as number);
      row.slowest = row.slowest === null ? rec.speed : Math.min(row.slowest as number, rec.speed as number);
      row.fastest = row.fastest === null ? rec.speed : Math.max(row.fastest as number, rec.speed as number);
    }
    out.set(k, row);
  }
  return out;
}

async function partials(batches: Rec[][], dataset: string): Promise<Rec[]> {
  const rows: Rec[] = [];
  for (const [b, batch] of batches.entries()) {
    const results = await runner.run('gantry', batch, `in-${b}`);
    const r = results.find((x) => x.dataset === dataset)!;
    expect(r.failures).toEqual([]);
    expect(r.aggregated).toBe(batch.length);
    rows.push(...r.records);
  }
  return rows;
}

describe('window step', () => {
  it.each([1, 2, 3, 4, 5])('tumbling partials of random batch splits merge to the brute-force result (seed %i)', async (seed) => {
    const r = rng(seed);
    const recs = records(600, r);
    const merged = merge(await partials(split(recs, r, 80), 'per_minute'));
    const expected = bruteMinute(recs);
    expect([...merged.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, want] of expected) {
      const got = merged.get(k)!;
      expect(got.record_count).toBe(want.record_count);
      expect(got.vehicles).toBe(want.vehicles);
      expect(got.speeds).toBe(want.speeds);
      expect(got.avg_speed_count).toBe(want.speeds);
      expect(got.people).toBe(want.people);
      expect(got.slowest).toBe(want.slowest);
      expect(got.fastest).toBe(want.fastest);
      expect(got.first_seen).toBe(new Date(want.first as string).toISOString());
      if (want.speeds) expect(got.avg_speed_sum as number).toBeCloseTo(want.sum as number, 6);
      else expect(got.avg_speed_sum).toBeNull();
      expect(Date.parse(got.window_end as string) - Date.parse(got.window_start as string)).toBe(60_000);
    }
    const total = [...merged.values()].reduce((s, x) => s + (x.record_count as number), 0);
    expect(total).toBe(recs.length);
  });

  it('puts each record in every hopping window that contains it: size/advance windows, record counts add up', async () => {
    const r = rng(42);
    const recs = records(300, r);
    const rows = await partials(split(recs, r, 50), 'per_quarter');
    const merged = merge(rows);
    const total = [...merged.values()].reduce((s, x) => s + (x.record_count as number), 0);
    expect(total).toBe(recs.length * 3);
    for (const row of merged.values()) {
      const start = Date.parse(row.window_start as string);
      expect(start % (5 * 60_000)).toBe(0);
      const inside = recs.filter((x) => {
        const t = Date.parse(x.at as string);
        return x.gantry_id === row.gantry_id && t >= start && t < start + 15 * 60_000;
      });
      expect(row.record_count).toBe(inside.length);
    }
  });

  it('emits identical partial rows when the same batch is processed again (a redelivery)', async () => {
    const recs = records(200, rng(7));
    const a = await runner.run('gantry', recs, 'same-id');
    const b = await runner.run('gantry', recs, 'same-id');
    expect(b).toEqual(a);
  });

  it('dead-letters a record without event time or key, naming the field, and aggregates the rest', async () => {
    const good = records(3, rng(9));
    const results = await runner.run('gantry', [good[0]!, { ...good[1]!, at: null }, { ...good[2]!, at: 'yesterday' }], 'x');
    const passages = results.find((x) => x.dataset === 'passages')!;
    // `at` is required in passages: the projection rejects both before the window sees them.
    expect(passages.failures.map((f) => [f.index, f.error.location.field])).toEqual([
      [1, 'at'],
      [2, 'at'],
    ]);
    const win = results.find((x) => x.dataset === 'per_minute')!;
    expect(win.aggregated).toBe(1);
    expect(win.records.map((x) => x.record_count)).toEqual([1]);
  });

  it('derives the window dataset fields and the aggregate table key from the step', () => {
    const ds = pipeline.datasets.find((d) => d.name === 'per_minute')!;
    expect(ds.fields.map((f) => `${f.name}:${f.type}`)).toEqual([
      'window_start:timestamp',
      'window_end:timestamp',
      'record_count:integer',
      'gantry_id:string',
      'vehicles:integer',
      'speeds:integer',
      'avg_speed:number',
      'avg_speed_sum:number',
      'avg_speed_count:integer',
      'people:integer',
      'slowest:number',
      'fastest:number',
      'first_seen:timestamp',
      'congested:boolean',
      'max_event_time:timestamp',
      'late_records:integer',
      'final:boolean',
    ]);
    expect(pipeline.tables.find((t) => t.name === 'agg_minute')!.key).toEqual(['window_start', 'gantry_id']);
  });
});
