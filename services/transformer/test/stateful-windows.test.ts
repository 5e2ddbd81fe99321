/**
 * `sliding` and `session` against a real nats-server (state in the `trib_windows` KV bucket):
 * compared with a brute-force computation over the same records, with random batch splits,
 * redeliveries of earlier batches after later ones, two replicas racing on the same keys, and a
 * restart (new connections) in the middle.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { DEFAULT_TOPOLOGY, ensureBuckets } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';
import { PipelineRunner, type DatasetResult } from '../src/pipeline-runner';

jest.setTimeout(120_000);

const SPEC = `
pipeline: cards
sources:
  tx_in: { kind: push }
datasets:
  tx:
    from: tx_in
    fields:
      tx_id: { type: string, required: true }
      card_id: string
      amount: number
      at: timestamp
      lat: number
      tx_10m: integer
      amount_10m: number
      avg_before: number
      prev_lat: number
      prev_at: timestamp
    steps:
      - sliding: { key: [card_id], time: at, size: 10m, aggregate: { tx_10m: count(), amount_10m: sum(amount) }, previous: { prev_lat: lat, prev_at: at } }
      - sliding: { key: [card_id], time: at, size: 1h, aggregate: { avg_before: avg(amount) }, include_current: false }
  visits:
    from: tx_in
    steps:
      - session: { key: [card_id], time: at, gap: 5m, aggregate: { purchases: count(), spent: sum(amount), biggest: max(amount) }, allowed_lateness: LATENESS }
`;

const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);
let nats: NatsServer;
let nc: NatsConnection;
let dir: string;

function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  dir = mkdtempSync(path.join(os.tmpdir(), 'trib-stateful-windows-'));
});

afterAll(async () => {
  await nc?.close();
  await stopAll();
});

function pipelineOf(name: string, lateness = '0s'): Pipeline {
  writeFileSync(path.join(dir, `${name}.yaml`), SPEC.replace('pipeline: cards', `pipeline: ${name}`).replace('LATENESS', lateness));
  return loadPipelineFile(path.join(dir, `${name}.yaml`));
}

async function replica(p: Pipeline): Promise<{ runner: PipelineRunner; close(): Promise<void> }> {
  const conn = await connect({ servers: nats.url });
  const runner = new PipelineRunner(p, 'a-test-hmac-key-of-16+');
  await runner.open({ windows: await new Kvm(conn).open(BUCKETS.windows) });
  return { runner, close: () => conn.close() };
}

/** Random card transactions, sorted by event time (per key order is what sliding needs). */
function transactions(r: () => number, n: number, cards: number, spanMin: number): Rec[] {
  return Array.from({ length: n }, (_, i) => ({
    tx_id: `t${i}`,
    card_id: `c${1 + Math.floor(r() * cards)}`,
    amount: Math.round(r() * 50_000) / 100,
    at: T0 + Math.floor(r() * spanMin * 60_000),
    lat: Math.round(r() * 9000) / 100,
  }))
    .sort((a, b) => a.at - b.at)
    .map((x) => ({ ...x, at: new Date(x.at).toISOString() }));
}

function split(r: () => number, recs: Rec[], max: number): Rec[][] {
  const out: Rec[][] = [];
  for (let i = 0; i < recs.length;) {
    const n = 1 + Math.floor(r() * max);
    out.push(recs.slice(i, i + n));
    i += n;
  }
  return out;
}

const of = (res: DatasetResult[], name: string): DatasetResult => res.find((x) => x.dataset === name)!;
const ms = (x: Rec, f = 'at'): number => Date.parse(x[f] as string);

/** Brute force: each record's look-back over all records of its card. */
function bruteSliding(all: Rec[], x: Rec): Rec {
  const t = ms(x);
  const mine = all.filter((y) => y.card_id === x.card_id);
  const w10 = mine.filter((y) => ms(y) > t - 600_000 && ms(y) <= t);
  const before = mine.filter((y) => y !== x && ms(y) > t - 3_600_000 && ms(y) <= t);
  const earlier = w10.filter((y) => y !== x);
  // The previous record: latest event time before it, the later one in input order on a tie.
  const prev = earlier.reduce<Rec | undefined>((p, y) => (!p || ms(y) >= ms(p) ? y : p), undefined);
  return {
    tx_10m: w10.length,
    amount_10m: w10.reduce((s, y) => s + (y.amount as number), 0),
    avg_before: before.length ? before.reduce((s, y) => s + (y.amount as number), 0) / before.length : null,
    prev_lat: prev ? prev.lat : null,
    prev_at: prev ? prev.at : null,
  };
}

/** Brute force: sessions per card, split where consecutive records are `gap` or more apart. */
function bruteSessions(all: Rec[], gap: number): Map<string, { n: number; spent: number; biggest: number; end: string }> {
  const out = new Map<string, { n: number; spent: number; biggest: number; end: string }>();
  const byCard = new Map<string, Rec[]>();
  for (const x of all) byCard.set(x.card_id as string, [...(byCard.get(x.card_id as string) ?? []), x]);
  for (const [card, list] of byCard) {
    list.sort((a, b) => ms(a) - ms(b));
    let start = list[0]!;
    let cur = { n: 0, spent: 0, biggest: -Infinity, end: '' };
    list.forEach((x, i) => {
      if (i > 0 && ms(x) - ms(list[i - 1]!) >= gap) {
        out.set(`${card}|${start.at as string}`, cur);
        start = x;
        cur = { n: 0, spent: 0, biggest: -Infinity, end: '' };
      }
      cur.n++;
      cur.spent += x.amount as number;
      cur.biggest = Math.max(cur.biggest, x.amount as number);
      cur.end = x.at as string;
    });
    out.set(`${card}|${start.at as string}`, cur);
  }
  return out;
}

describe('sliding windows on JetStream KV', () => {
  it('equal the brute-force look-back for every record, with random batches, redeliveries and a restart', async () => {
    const r = rng(11);
    const p = pipelineOf('sliding_exact');
    const recs = transactions(r, 600, 6, 180);
    const batches = split(r, recs, 25);
    let rep = await replica(p);
    const first = new Map<number, Rec[]>();
    try {
      for (let i = 0; i < batches.length; i++) {
        if (i === Math.floor(batches.length / 2)) {
          await rep.close(); // a restart: state is only in KV
          rep = await replica(p);
        }
        first.set(i, of(await rep.runner.run('tx_in', batches[i]!, `b-${i}`), 'tx').records);
        // Now and then an earlier batch comes again, after later ones changed the state.
        if (i > 3 && r() < 0.3) {
          const j = Math.floor(r() * i);
          expect(of(await rep.runner.run('tx_in', batches[j]!, `b-${j}`), 'tx').records).toEqual(first.get(j));
        }
      }
    } finally {
      await rep.close();
    }
    const got = [...first.values()].flat();
    expect(got).toHaveLength(recs.length);
    for (const out of got) {
      const x = recs.find((y) => y.tx_id === out.tx_id)!;
      const want = bruteSliding(recs, x);
      expect(out.tx_10m).toBe(want.tx_10m);
      expect(out.amount_10m).toBeCloseTo(want.amount_10m as number, 6);
      if (want.avg_before === null) expect(out.avg_before).toBeNull();
      else expect(out.avg_before).toBeCloseTo(want.avg_before as number, 6);
      expect([out.tx_id, out.prev_at]).toEqual([x.tx_id, want.prev_at]);
      expect(out.prev_lat).toBe(want.prev_lat);
    }
  });

  it('serialises two replicas racing on one key: each record counts exactly the records applied before it', async () => {
    const p = pipelineOf('sliding_race');
    const [a, b] = [await replica(p), await replica(p)];
    try {
      // 120 transactions of one card at the same instant (so each is in every other's look-back),
      // in 40 messages split between two replicas at once.
      const recs = Array.from({ length: 120 }, (_, i) => ({
        tx_id: `r${i}`,
        card_id: 'hot',
        amount: i + 1,
        at: new Date(T0).toISOString(),
        lat: 1,
      }));
      const batches = Array.from({ length: 40 }, (_, i) => recs.slice(i * 3, i * 3 + 3));
      const outs = await Promise.all(batches.map((bt, i) => (i % 2 ? a : b).runner.run('tx_in', bt, `race-${i}`)));
      const got = outs.flatMap((o) => of(o, 'tx').records);
      // Every record is in every other's look-back: its count is its place in the key's one
      // order of application, so the counts are exactly 1..120, and each sum is the sum of the
      // amounts of the records before it in that order.
      const byCount = [...got].sort((x, y) => (x.tx_10m as number) - (y.tx_10m as number));
      expect(byCount.map((x) => x.tx_10m)).toEqual(recs.map((_, i) => i + 1));
      let sum = 0;
      for (const x of byCount) {
        sum += x.amount as number;
        expect(x.amount_10m).toBe(sum);
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('session windows on JetStream KV', () => {
  it('equal the brute-force sessions, with random batches, redeliveries, and idle keys closed by the clock', async () => {
    const r = rng(5);
    const p = pipelineOf('session_exact');
    const recs = transactions(r, 500, 8, 240);
    const batches = split(r, recs, 20);
    const { runner, close } = await replica(p);
    const rows: Rec[] = [];
    try {
      const first = new Map<number, Rec[]>();
      for (let i = 0; i < batches.length; i++) {
        const res = of(await runner.run('tx_in', batches[i]!, `b-${i}`), 'visits');
        expect(res.aggregated).toBe(batches[i]!.length);
        first.set(i, res.records);
        if (i > 3 && r() < 0.3) {
          const j = Math.floor(r() * i);
          expect(of(await runner.run('tx_in', batches[j]!, `b-${j}`), 'visits').records).toEqual(first.get(j));
        }
      }
      rows.push(...[...first.values()].flat());
      // The last session of every card closes once the card is idle (processing time).
      const runs = await runner.release(Date.now() + 3_600_000);
      for (const run of runs) {
        rows.push(...of(run.results, 'visits').records);
        await run.confirm();
      }
      expect(await runner.release(Date.now() + 3_600_000)).toEqual([]);
    } finally {
      await close();
    }
    const want = bruteSessions(recs, 300_000);
    expect(rows).toHaveLength(want.size);
    expect(rows.reduce((s, x) => s + (x.record_count as number), 0)).toBe(recs.length);
    for (const row of rows) {
      const w = want.get(`${row.card_id as string}|${row.session_start as string}`);
      expect(w).toBeDefined();
      expect([row.record_count, row.purchases, row.session_end]).toEqual([w!.n, w!.n, w!.end]);
      expect(row.spent).toBeCloseTo(w!.spent, 6);
      expect(row.biggest).toBe(w!.biggest);
    }
  });

  it('merges records that two replicas apply out of order into the same sessions as the brute force', async () => {
    const r = rng(9);
    // Lateness covers the whole span: nothing closes until the keys go idle, so any order of
    // arrival must end in the same sessions (a late record bridging two sessions merges them).
    const p = pipelineOf('session_race', '1d');
    const recs = transactions(r, 400, 4, 120);
    const shuffled = [...recs].sort(() => r() - 0.5);
    const batches = split(r, shuffled, 12);
    const [a, b] = [await replica(p), await replica(p)];
    const rows: Rec[] = [];
    try {
      const outs = await Promise.all(batches.map((bt, i) => (i % 2 ? a : b).runner.run('tx_in', bt, `m-${i}`)));
      expect(outs.flatMap((o) => of(o, 'visits').records)).toEqual([]);
      const later = Date.now() + 86_400_000 * 2;
      const [ra, rb] = await Promise.all([a.runner.release(later), b.runner.release(later)]);
      // Both replicas may see one release before it is confirmed: IDs tell repeats apart.
      const seen = new Set<string>();
      for (const run of [...ra, ...rb]) {
        if (!seen.has(run.id)) rows.push(...of(run.results, 'visits').records);
        seen.add(run.id);
        await run.confirm();
      }
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    const want = bruteSessions(recs, 300_000);
    expect(rows).toHaveLength(want.size);
    for (const row of rows) {
      const w = want.get(`${row.card_id as string}|${row.session_start as string}`)!;
      expect([row.record_count, row.session_end]).toEqual([w.n, w.end]);
    }
  });
});
