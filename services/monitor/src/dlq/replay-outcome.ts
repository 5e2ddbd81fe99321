/**
 * What became of replayed dead letters, read from durable state for a short while after the
 * replay: the load ledger (loaded, per table), the stream log (filtered by a step) and the dead
 * letters folded since (dead-lettered again, with the new error). A replay carries message ID
 * `replay:<seq>`, the transformer derives `replay:<seq>:<dataset>` from it (docs/design.md, Message
 * IDs), and a dead letter names the message it came from in `original.msgId`, so every candidate ID
 * is known in advance and each lookup uses a primary key.
 */
import type { Pipeline } from '@tributary/contract/spec';
import type { Pool } from 'pg';
import type { ReplayOutcome } from '@tributary/contract/monitor-api';

export type { ReplayOutcome } from '@tributary/contract/monitor-api';

/** One replayed dead letter. */
export interface Replayed {
  seq: number;
  pipeline: string;
}

const POLL_MS = 250;

/** The message IDs a replay of `seq` and its outputs can carry in `pipeline`. */
function candidateIds(seq: number, pipeline: Pipeline | undefined): string[] {
  const base = `replay:${seq}`;
  return [base, ...(pipeline?.datasets ?? []).map((d) => `${base}:${d.name}`)];
}

/** The DLQ sequence a candidate ID belongs to. */
const seqOf = (id: string): number => Number(id.split(':')[1]);

/**
 * Waits up to `waitMs` for every replay's outcome; returns what is known then (`pending` for
 * the rest). `sinceSeq`: the highest dead-letter sequence before the replay.
 */
export async function waitForOutcomes(
  pool: Pool,
  pipelines: readonly Pipeline[],
  replayed: readonly Replayed[],
  sinceSeq: number,
  waitMs: number,
): Promise<ReplayOutcome[]> {
  const deadline = Date.now() + waitMs;
  const byPipeline = new Map<string, number[]>();
  for (const r of replayed) byPipeline.set(r.pipeline, [...(byPipeline.get(r.pipeline) ?? []), r.seq]);
  for (;;) {
    const outcomes = new Map<number, ReplayOutcome>(replayed.map((r) => [r.seq, { seq: r.seq, outcome: 'pending' }]));
    for (const [name, seqs] of byPipeline) {
      const p = pipelines.find((x) => x.name === name);
      const ids = seqs.flatMap((s) => candidateIds(s, p));
      const [loaded, processed, dead] = await Promise.all([
        pool.query<{ msg_id: string; table_name: string; records: number }>(
          `SELECT msg_id, table_name, records FROM tributary.load_ledger
           WHERE pipeline = $1 AND table_name = ANY($2::text[]) AND msg_id = ANY($3::text[])`,
          [name, (p?.tables ?? []).map((t) => t.name), ids],
        ),
        pool.query<{ msg_id: string; records: number; filtered: number }>(
          `SELECT msg_id, records, filtered FROM tributary.stream_log WHERE stream = 'processed' AND msg_id = ANY($1::text[])`,
          [ids],
        ),
        pool.query<{ seq: string; stage: string; error_code: string | null; error_message: string | null; from_id: string }>(
          `SELECT seq, stage, error_code, error_message, original->>'msgId' AS from_id FROM tributary.dead_letters
           WHERE seq > $1 AND pipeline = $2 AND original->>'msgId' = ANY($3::text[]) ORDER BY seq`,
          [sinceSeq, name, ids],
        ),
      ]);
      const filtered = new Map<number, { records: number; filtered: number }>();
      for (const r of processed.rows) {
        const f = filtered.get(seqOf(r.msg_id)) ?? { records: 0, filtered: 0 };
        filtered.set(seqOf(r.msg_id), { records: f.records + r.records, filtered: f.filtered + r.filtered });
      }
      for (const s of seqs) {
        const o = outcomes.get(s)!;
        const rows = loaded.rows.filter((r) => seqOf(r.msg_id) === s && r.records > 0);
        if (rows.length > 0) {
          o.outcome = 'loaded';
          o.tables = {};
          for (const r of rows) o.tables[r.table_name] = (o.tables[r.table_name] ?? 0) + r.records;
        }
        const f = filtered.get(s);
        if (o.outcome === 'pending' && f && f.records === 0 && f.filtered > 0) o.outcome = 'filtered';
        const again = dead.rows.filter((r) => seqOf(r.from_id) === s);
        if (again.length > 0) {
          o.outcome = 'dead_lettered';
          o.dead_letters = again.map((r) => ({ seq: Number(r.seq), stage: r.stage, code: r.error_code, message: r.error_message }));
        }
      }
    }
    const result = [...outcomes.values()];
    if (result.every((o) => o.outcome !== 'pending') || Date.now() + POLL_MS > deadline) return result;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
