/**
 * Schema drift in the monitor (docs/transforms.md, "Schema drift"): a fold loop on the durable
 * `monitor-drift` (TRIB_EVENTS, `trib.events.*.drift`) writes each drift event into
 * `tributary.schema_drift`, one row per (pipeline, dataset, field, kind): the count adds each
 * event's `new_count` (transformer replicas each send their own), the rest keeps the latest view.
 * `readDrift` gives the rows to the status snapshot (`drift` of /api/pipelines/<name>), where
 * TributarySchemaDrift reads them. Shared by every monitor replica through the table.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { consumers, STREAMS } from '@tributary/contract/wire';
import { type DriftEvent } from '@tributary/contract/spec';
import { BatchConsumer } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import type { DriftView } from '@tributary/contract/monitor-api';
import { inFoldTransaction } from '../warehouse-error';

/** The stream and durable the drift fold reads. */
export const DRIFT_FOLD = { stream: STREAMS.events, durable: consumers.monitor('drift') };

/** A drift event body, or undefined (logged) when it is not one. */
function parseEvent(msg: JsMsg, logger: Logger): DriftEvent | undefined {
  try {
    const e = msg.json<DriftEvent>();
    if (typeof e.pipeline === 'string' && typeof e.dataset === 'string' && typeof e.field === 'string' && typeof e.kind === 'string')
      return e;
  } catch {
    // fall through
  }
  logger.warn({ subject: msg.subject, seq: msg.seq }, 'not a drift event; skipped');
  return undefined;
}

/** Upserts drift events in one transaction. */
async function writeEvents(pool: Pool, events: DriftEvent[]): Promise<void> {
  if (events.length === 0) return;
  await inFoldTransaction(pool, 'cannot fold drift events into PostgreSQL', async (client) => {
    for (const e of events) {
      await client.query(
        `INSERT INTO tributary.schema_drift AS d
           (pipeline, dataset, field, kind, source, expected, seen, policy, action, column_type, first_seen, last_seen, count, sample)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (pipeline, dataset, field, kind) DO UPDATE SET
           source = EXCLUDED.source, expected = EXCLUDED.expected, seen = EXCLUDED.seen, policy = EXCLUDED.policy,
           action = EXCLUDED.action, column_type = EXCLUDED.column_type,
           first_seen = least(d.first_seen, EXCLUDED.first_seen), last_seen = greatest(d.last_seen, EXCLUDED.last_seen),
           count = d.count + EXCLUDED.count, events = d.events + 1, folded_at = now(), sample = EXCLUDED.sample`,
        [
          e.pipeline,
          e.dataset,
          e.field,
          e.kind,
          e.source,
          e.expected ?? null,
          e.seen,
          e.policy,
          e.action,
          e.column_type ?? null,
          e.first_seen,
          e.last_seen,
          e.new_count ?? e.count,
          e.sample === undefined ? null : JSON.stringify(e.sample),
        ],
      );
    }
  });
}

/** Creates (does not start) the drift fold loop. */
export function createDriftFold(opts: {
  js: JetStreamClient;
  pool: Pool;
  logger: Logger;
  maxBatch: number;
  maxDeliver: number;
}): BatchConsumer {
  const log = opts.logger.child({ fold: 'drift' });
  const fold = async (msgs: JsMsg[]): Promise<void> =>
    writeEvents(
      opts.pool,
      msgs.map((m) => parseEvent(m, log)).filter((e): e is DriftEvent => e !== undefined),
    );
  return new BatchConsumer({
    js: opts.js,
    ...DRIFT_FOLD,
    maxBatch: opts.maxBatch,
    maxDeliver: opts.maxDeliver,
    logger: log,
    handle: fold,
    // Nothing to dead-letter into: the event alone is folded again (a database failure retries).
    onPoison: (msg) => fold([msg]),
  });
}

/** The drift rows of every pipeline, newest event first. */
export async function readDrift(pool: Pool): Promise<Map<string, DriftView[]>> {
  const r = await pool.query<DriftView & { pipeline: string; count: string }>(
    `SELECT pipeline, dataset, source, field, kind, expected, seen, policy, action, column_type,
            first_seen, last_seen, count, events, extract(epoch FROM now() - folded_at)::float8 AS event_age_seconds, sample
       FROM tributary.schema_drift ORDER BY folded_at DESC, dataset, field, kind`,
  );
  const out = new Map<string, DriftView[]>();
  for (const { pipeline, ...row } of r.rows) {
    const view: DriftView = {
      ...row,
      first_seen: new Date(row.first_seen).toISOString(),
      last_seen: new Date(row.last_seen).toISOString(),
      count: Number(row.count),
    };
    out.set(pipeline, [...(out.get(pipeline) ?? []), view]);
  }
  return out;
}
