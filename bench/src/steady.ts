/**
 * The steady-rate push and the latency read from the load ledger: what the `steady` and
 * `report-load` scenarios offer the pipeline (1,000-record requests at a fixed rate) and how
 * they read what it did (committed records per second, ingest-to-commit percentiles).
 */
import type { Client } from 'pg';
import { ndjsonBatches, percentile } from './records';
import { type BenchStack, push } from './stack';

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
}

/** A steady run: the rate the requests went out at, the rate rows were committed at, latency. */
export interface SteadyResult extends Latency {
  /** Records per second offered (requests sent over the sending time). */
  achieved: number;
  /** Records per second committed: the records over the time from the first request to the last row committed. */
  committed: number;
  records: number;
}

export const COUNT_PASSAGES = 'SELECT count(*) AS n FROM warehouse.fact_passage';

/** Latency percentiles from the ledger: commit time minus earliest ingest time, per record. */
export async function ledgerLatency(db: Client, pipeline: string, since: Date): Promise<Latency> {
  const r = await db.query<{ ms: number; records: number }>(
    `SELECT extract(epoch FROM (loaded_at - ingested_at)) * 1000 AS ms, records FROM tributary.load_ledger WHERE pipeline = $1 AND loaded_at >= $2`,
    [pipeline, since],
  );
  const samples: number[] = [];
  for (const row of r.rows) for (let i = 0; i < Math.max(1, Math.round(row.records / 100)); i++) samples.push(Number(row.ms));
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), p99: percentile(samples, 99) };
}

/**
 * Waits, polling every 20 ms, until the load ledger holds `target` records of `pipeline` loaded
 * since `since` (the ledger, not count(*): a count over a large fact table would load PostgreSQL).
 */
async function waitLedger(db: Client, pipeline: string, since: Date, target: number, timeoutMs = 600_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let n = 0;
  while (Date.now() < end) {
    const r = await db.query('SELECT coalesce(sum(records), 0) AS n FROM tributary.load_ledger WHERE pipeline = $1 AND loaded_at >= $2', [
      pipeline,
      since,
    ]);
    n = Number(r.rows[0].n);
    if (n >= target) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${target} records of ${pipeline} in the load ledger (last ${n})`);
}

/** Pushes `n` records to the bench pipeline at once (5,000-record requests, 4 at a time) and times them until committed. */
export async function fullPush(db: Client, stack: BenchStack, n: number): Promise<{ records: number; seconds: number; perSecond: number }> {
  const bodies = ndjsonBatches(n, 5_000, `f${Date.now()}`);
  const since = new Date();
  const t0 = performance.now();
  await push(stack.ingestPort, 'bench', 'gantry', bodies, 4);
  await waitLedger(db, 'bench', since, n);
  const seconds = (performance.now() - t0) / 1000;
  return { records: n, seconds, perSecond: n / seconds };
}

/** Pushes 1000-record batches to the bench pipeline at a steady `rate` records/s for `seconds`, then reads latency from the ledger. */
export async function steadyPush(db: Client, stack: BenchStack, rate: number, seconds: number): Promise<SteadyResult> {
  const perBatch = 1000;
  const batches = Math.round((rate * seconds) / perBatch);
  const bodies = ndjsonBatches(batches * perBatch, perBatch, `s${Date.now()}`);
  const since = new Date();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < batches; i++) {
    const due = t0 + (i * perBatch * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(push(stack.ingestPort, 'bench', 'gantry', [bodies[i]!], 1));
  }
  await Promise.all(inflight);
  const records = batches * perBatch;
  const achieved = records / ((performance.now() - t0) / 1000);
  await waitLedger(db, 'bench', since, records);
  const committed = records / ((performance.now() - t0) / 1000);
  return { ...(await ledgerLatency(db, 'bench', since)), achieved, committed, records };
}
