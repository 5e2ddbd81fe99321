/**
 * DLQ write actions: replay dead letters to where they were going, or discard them, each request
 * recorded in the audit trail `tributary.dlq_actions`, each dead letter's latest action in
 * `tributary.dead_letter_state`.
 *
 * Replay publishes the stored record to its `replay_subject` with message ID `replay:<dlq seq>`
 * (docs/design.md, Message IDs), so a replay repeated inside the duplicate window is dropped by JetStream and one
 * after it is skipped by the loader's ledger (the transformer derives its output IDs from it).
 * The record re-enters as a new accepted message and is counted once more on its way through.
 */
import type { PubAck } from '@nats-io/jetstream';
import { H, makeHeaders, NDJSON } from '@tributary/contract';
import type { Logger, Publisher } from '@tributary/runtime';
import type { Pool } from 'pg';
import type { Counter } from 'prom-client';
import {
  DEAD_LETTER_COLUMNS,
  filterClause,
  toView,
  type DeadLetterDbRow,
  type DeadLetterFilter,
  type DeadLetterView,
} from './dead-letter-store';
import { toWarehouseError } from '../fold/warehouse-error';
import type { ActionResult } from '../api/api-types';
export type { ActionResult } from '../api/api-types';

/** What an action applies to: listed sequences, or every dead letter matching a filter. */
export type DeadLetterSelection = { seqs: number[] } | { filter: DeadLetterFilter };

/** Who asked. */
export interface Actor {
  name: string;
  remoteAddr?: string;
}

const PAGE = 500;

/** The message a replay publishes for one dead letter, or why there is none. */
export function replayMessage(d: DeadLetterView): { subject: string; body: string; count: number; kind: 'raw' | 'processed' } | string {
  const subject = d.replay_subject;
  const tokens = subject?.split('.') ?? [];
  // Only the two streams a stage consumes, and only this dead letter's own pipeline.
  if (!subject || tokens.length !== 4 || tokens[0] !== 'trib' || tokens[2] !== d.pipeline) return `no valid replay subject (${subject})`;
  const kind = tokens[1];
  if (kind !== 'raw' && kind !== 'processed') return `replay subject ${subject} is not a raw or processed subject`;
  if (d.record === null || d.record === undefined) return 'the record was not stored, so it cannot be replayed';
  // A whole message dead-lettered undecoded carries its body as text: replay it as it was.
  const body = typeof d.record === 'string' ? d.record : JSON.stringify(d.record);
  const count = typeof d.record === 'string' ? body.split('\n').filter((l) => l.trim() !== '').length : 1;
  return { subject, body, count, kind };
}

/** Runs DLQ actions. */
export class DeadLetterActions {
  constructor(
    private readonly pool: Pool,
    private readonly publisher: () => Publisher,
    private readonly logger: Logger,
    private readonly counter?: Counter<'action'>,
  ) {}

  /** Replays or discards the selection; `force` also acts on entries already replayed or discarded. */
  async apply(
    action: 'replay' | 'discard',
    selection: DeadLetterSelection,
    actor: Actor,
    force = false,
    reason?: string,
  ): Promise<ActionResult> {
    const actionId = await this.audit(action, selection, actor);
    const result: ActionResult = { action_id: actionId, action, requested: 0, done: 0, skipped: 0, failed: 0, errors: [] };
    try {
      for await (const page of this.select(selection, force)) {
        result.requested += page.requested;
        result.skipped += page.requested - page.rows.length;
        if (action === 'discard') {
          await this.setState(
            page.rows.map((r) => ({ seq: r.seq, replaySeq: null })),
            'discarded',
            actionId,
          );
          result.done += page.rows.length;
        } else {
          await this.replay(page.rows, actionId, result);
        }
      }
    } finally {
      await this.pool
        .query('UPDATE tributary.dlq_actions SET requested = $2, done = $3, skipped = $4, failed = $5, note = $6 WHERE id = $1', [
          actionId,
          result.requested,
          result.done,
          result.skipped,
          result.failed,
          // The operator's reason first (why records were discarded), then the first errors.
          [reason, ...result.errors.slice(0, 5).map((e) => `${e.seq}: ${e.message}`)].filter(Boolean).join('; ') || null,
        ])
        .catch((err: unknown) => this.logger.error({ err, actionId }, 'cannot complete the DLQ audit row'));
    }
    this.counter?.inc({ action }, result.done);
    this.logger.info({ ...result, errors: result.errors.length, actor: actor.name }, `DLQ ${action}`);
    return result;
  }

  private async replay(rows: DeadLetterView[], actionId: number, result: ActionResult): Promise<void> {
    const pub = this.publisher();
    const outcomes = await Promise.all(
      rows.map(async (d): Promise<{ seq: number; ack?: PubAck; error?: string }> => {
        const m = replayMessage(d);
        if (typeof m === 'string') return { seq: d.seq, error: m };
        const nameHeader = m.kind === 'raw' ? H.source : H.dataset;
        const headers = makeHeaders({
          [H.pipeline]: d.pipeline,
          [nameHeader]: m.subject.split('.')[3],
          [H.count]: m.count,
          // The original ingest time: latency and freshness stay about when the data arrived.
          [H.ingestedAt]: d.ingested_at ? Date.parse(d.ingested_at) : Date.now(),
          [H.contentType]: NDJSON,
          [H.replayOf]: String(d.seq),
        });
        try {
          const ack = await pub.publish(m.subject, Buffer.from(m.body), { msgId: `replay:${d.seq}`, headers });
          return { seq: d.seq, ack };
        } catch (err) {
          return { seq: d.seq, error: (err as Error).message };
        }
      }),
    );
    const ok = outcomes.filter((o) => o.ack);
    await this.setState(
      ok.map((o) => ({ seq: o.seq, replaySeq: o.ack!.seq })),
      'replayed',
      actionId,
    );
    result.done += ok.length;
    for (const o of outcomes) {
      if (o.error) {
        result.failed++;
        result.errors.push({ seq: o.seq, message: o.error });
      }
    }
  }

  private async audit(action: string, selection: DeadLetterSelection, actor: Actor): Promise<number> {
    try {
      const r = await this.pool.query<{ id: string }>(
        `INSERT INTO tributary.dlq_actions (action, actor, remote_addr, selection, requested, done, skipped, failed)
         VALUES ($1, $2, $3, $4, 0, 0, 0, 0) RETURNING id`,
        [action, actor.name, actor.remoteAddr ?? null, JSON.stringify(selection)],
      );
      return Number(r.rows[0]!.id);
    } catch (err) {
      throw toWarehouseError(err, 'cannot record the DLQ action');
    }
  }

  private async setState(rows: { seq: number; replaySeq: number | null }[], status: string, actionId: number): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO tributary.dead_letter_state (seq, status, action_id, replay_seq)
       SELECT seq, $2, $3, replay_seq FROM unnest($1::bigint[], $4::bigint[]) AS t(seq, replay_seq)
       ON CONFLICT (seq) DO UPDATE SET status = excluded.status, action_id = excluded.action_id,
                                       replay_seq = excluded.replay_seq, at = now()`,
      [rows.map((r) => r.seq), status, actionId, rows.map((r) => r.replaySeq)],
    );
  }

  /** Pages of the selected dead letters that the action applies to, with how many were asked for. */
  private async *select(selection: DeadLetterSelection, force: boolean): AsyncGenerator<{ requested: number; rows: DeadLetterView[] }> {
    if ('seqs' in selection) {
      const seqs = [...new Set(selection.seqs)];
      for (let i = 0; i < seqs.length; i += PAGE) {
        const chunk = seqs.slice(i, i + PAGE);
        const r = await this.pool.query<DeadLetterDbRow>(
          `SELECT ${DEAD_LETTER_COLUMNS} FROM tributary.dead_letters d
           LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
           WHERE d.seq = ANY($1::bigint[]) AND ($2 OR s.seq IS NULL) ORDER BY d.seq`,
          [chunk, force],
        );
        yield { requested: chunk.length, rows: r.rows.map(toView) };
      }
      return;
    }
    // "All matching": the listing's filter, walked newest first by sequence. A page acted on
    // leaves the open set, so the cursor (not an offset) keeps the walk exact.
    const filter = { ...selection.filter, status: force ? ('all' as const) : (selection.filter.status ?? 'open') };
    let before: number | null = null;
    for (;;) {
      const f = filterClause(filter, 3);
      const r: { rows: DeadLetterDbRow[] } = await this.pool.query<DeadLetterDbRow>(
        `SELECT ${DEAD_LETTER_COLUMNS} FROM tributary.dead_letters d
         LEFT JOIN tributary.dead_letter_state s ON s.seq = d.seq
         WHERE ($1::bigint IS NULL OR d.seq < $1) AND ${f.sql} ORDER BY d.seq DESC LIMIT $2`,
        [before, PAGE, ...f.params],
      );
      if (r.rows.length === 0) return;
      const rows = r.rows.map(toView);
      yield { requested: rows.length, rows };
      before = rows.at(-1)!.seq;
      if (rows.length < PAGE) return;
    }
  }
}
