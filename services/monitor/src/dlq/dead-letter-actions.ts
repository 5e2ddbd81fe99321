/**
 * DLQ write actions: replay dead letters to where they were going (as stored, or fixed first, see
 * dlq-fix.ts), or discard them, each request recorded in the audit trail `tributary.dlq_actions`
 * (who, when, what, how many, with which fix), each dead letter's latest action in
 * `tributary.dead_letter_state`.
 *
 * Replay publishes the record to its `replay_subject` with message ID `replay:<dlq seq>` and header
 * `Trib-Replay-Of` (docs/design.md, Message IDs), so a replay repeated inside the duplicate window
 * is dropped by JetStream and one after it is skipped by the loader's ledger, and the monitor counts
 * its records as replayed, not as received or accepted again (docs/design.md, Counting invariant).
 * A record bound for a raw subject must pass the source's schema first. With `waitMs`, the result
 * says what became of each replayed record (replay-outcome.ts) instead of a blind success.
 */
import type { PubAck } from '@nats-io/jetstream';
import { H, makeHeaders } from '@tributary/contract/wire';
import { NDJSON } from '@tributary/contract/codec';
import { type Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { Publisher } from '@tributary/runtime/nats';
import type { Pool } from 'pg';
import type { Counter } from 'prom-client';
import { toWarehouseError } from '../warehouse-error';
import type { ActionResult } from '@tributary/contract/monitor-api';
export type { ActionResult } from '@tributary/contract/monitor-api';
import type { DeadLetterView } from './dead-letter-store';
import { compileFix, type Fix, type FixFn } from './dlq-fix';
import { selectDeadLetters, type DeadLetterSelection } from './dlq-selection';
import { waitForOutcomes, type Replayed } from './replay-outcome';
import { replayBody, replayTarget, SourceChecks } from './replay-target';

export type { DeadLetterSelection } from './dlq-selection';

/** The most replayed records whose outcome a replay waits for. */
const MAX_TRACKED = 1000;

/** Who asked. */
export interface Actor {
  name: string;
  remoteAddr?: string;
}

/** How an action runs beyond its selection. */
export interface ActionOptions {
  force?: boolean;
  /** Why (kept in the audit trail's note). */
  reason?: string;
  /** Replay: change the records first. */
  fix?: Fix;
  /** Replay: how long to wait for the replayed records' outcome (0: do not wait). */
  waitMs?: number;
}

/** Runs DLQ actions. */
export class DeadLetterActions {
  private readonly checks: SourceChecks;

  constructor(
    private readonly pool: Pool,
    private readonly publisher: () => Publisher,
    private readonly logger: Logger,
    private readonly pipelines: readonly Pipeline[],
    private readonly counter?: Counter<'action'>,
  ) {
    this.checks = new SourceChecks(pipelines);
  }

  /** Replays or discards the selection; `force` also acts on entries already replayed or discarded. */
  async apply(action: 'replay' | 'discard', selection: DeadLetterSelection, actor: Actor, opts: ActionOptions = {}): Promise<ActionResult> {
    // An invalid fix is refused (400) before anything is recorded or done.
    const fix = compileFix(action === 'replay' ? opts.fix : undefined);
    const actionId = await this.audit(action, selection, actor, action === 'replay' ? opts.fix : undefined);
    const result: ActionResult = { action_id: actionId, action, requested: 0, done: 0, skipped: 0, failed: 0, errors: [] };
    const replayed: Replayed[] = [];
    const sinceSeq = await this.maxDeadLetterSeq();
    try {
      for await (const page of selectDeadLetters(this.pool, selection, opts.force ?? false)) {
        result.requested += page.requested;
        result.skipped += page.requested - page.rows.length;
        if (action === 'discard') {
          await this.setState(
            page.rows.map((r) => ({ seq: r.seq, replaySeq: null, record: undefined })),
            'discarded',
            actionId,
          );
          result.done += page.rows.length;
        } else {
          replayed.push(...(await this.replay(page.rows, fix, actionId, result)));
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
          [opts.reason, ...result.errors.slice(0, 5).map((e) => `${e.seq}: ${e.message}`)].filter(Boolean).join('; ') || null,
        ])
        .catch((err: unknown) => this.logger.error({ err, actionId }, 'cannot complete the DLQ audit row'));
    }
    this.counter?.inc({ action }, result.done);
    // Outcomes are tracked for replays of a reviewable size; a bulk replay is followed in the listing.
    if (action === 'replay' && (opts.waitMs ?? 0) > 0 && replayed.length > 0 && replayed.length <= MAX_TRACKED) {
      result.outcomes = await waitForOutcomes(this.pool, this.pipelines, replayed, sinceSeq, opts.waitMs!);
    }
    this.logger.info({ ...result, errors: result.errors.length, outcomes: undefined, actor: actor.name }, `DLQ ${action}`);
    return result;
  }

  private async replay(rows: DeadLetterView[], fix: FixFn, actionId: number, result: ActionResult): Promise<Replayed[]> {
    const pub = this.publisher();
    const outcomes = await Promise.all(
      rows.map(async (d): Promise<{ seq: number; ack?: PubAck; record?: unknown; error?: string }> => {
        const target = replayTarget(d);
        if (typeof target === 'string') return { seq: d.seq, error: target };
        const fixed = await fix(d);
        if ('error' in fixed) return { seq: d.seq, error: `fix failed: ${fixed.error}` };
        const body = replayBody(fixed.record);
        if (typeof body === 'string') return { seq: d.seq, error: body };
        if (target.kind === 'raw' && typeof fixed.record !== 'string') {
          const problem = this.checks.check(d.pipeline, target.name, fixed.record);
          if (problem) {
            const where = problem.field ? `field "${problem.field}": ` : '';
            return {
              seq: d.seq,
              error: `still fails the source schema${problem.schema ? ` ${problem.schema}` : ''}: ${where}${problem.message}`,
            };
          }
        }
        const headers = makeHeaders({
          [H.pipeline]: d.pipeline,
          [target.kind === 'raw' ? H.source : H.dataset]: target.name,
          [H.count]: body.count,
          // The original ingest time: latency and freshness stay about when the data arrived.
          [H.ingestedAt]: d.ingested_at ? Date.parse(d.ingested_at) : Date.now(),
          [H.contentType]: NDJSON,
          [H.replayOf]: String(d.seq),
        });
        try {
          const ack = await pub.publish(target.subject, Buffer.from(body.body), { msgId: `replay:${d.seq}`, headers });
          return { seq: d.seq, ack, record: fixed.changed ? fixed.record : undefined };
        } catch (err) {
          return { seq: d.seq, error: (err as Error).message };
        }
      }),
    );
    const ok = outcomes.filter((o) => o.ack);
    await this.setState(
      ok.map((o) => ({ seq: o.seq, replaySeq: o.ack!.seq, record: o.record })),
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
    return ok.map((o) => ({ seq: o.seq, pipeline: rows.find((r) => r.seq === o.seq)!.pipeline }));
  }

  private async maxDeadLetterSeq(): Promise<number> {
    const r = await this.pool.query<{ max: string | null }>('SELECT max(seq) AS max FROM tributary.dead_letters');
    return Number(r.rows[0]?.max ?? 0);
  }

  private async audit(action: string, selection: DeadLetterSelection, actor: Actor, fix: Fix | undefined): Promise<number> {
    try {
      const r = await this.pool.query<{ id: string }>(
        `INSERT INTO tributary.dlq_actions (action, actor, remote_addr, selection, requested, done, skipped, failed, fix)
         VALUES ($1, $2, $3, $4, 0, 0, 0, 0, $5) RETURNING id`,
        [action, actor.name, actor.remoteAddr ?? null, JSON.stringify(selection), fix ? JSON.stringify(auditedFix(fix)) : null],
      );
      return Number(r.rows[0]!.id);
    } catch (err) {
      throw toWarehouseError(err, 'cannot record the DLQ action');
    }
  }

  private async setState(
    rows: { seq: number; replaySeq: number | null; record: unknown }[],
    status: string,
    actionId: number,
  ): Promise<void> {
    if (rows.length === 0) return;
    await this.pool.query(
      `INSERT INTO tributary.dead_letter_state (seq, status, action_id, replay_seq, replayed_record)
       SELECT seq, $2, $3, replay_seq, replayed_record::jsonb FROM unnest($1::bigint[], $4::bigint[], $5::text[]) AS t(seq, replay_seq, replayed_record)
       ON CONFLICT (seq) DO UPDATE SET status = excluded.status, action_id = excluded.action_id,
                                       replay_seq = excluded.replay_seq, replayed_record = excluded.replayed_record, at = now()`,
      [
        rows.map((r) => r.seq),
        status,
        actionId,
        rows.map((r) => r.replaySeq),
        rows.map((r) => (r.record === undefined ? null : JSON.stringify(r.record))),
      ],
    );
  }
}

/** The fix as the audit trail keeps it: the expressions whole, edited records by sequence (the records are in dead_letter_state). */
function auditedFix(fix: Fix): Record<string, unknown> {
  if (fix.records) return { edited: Object.keys(fix.records).map(Number) };
  return fix;
}
