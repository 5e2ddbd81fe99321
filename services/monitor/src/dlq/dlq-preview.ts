/**
 * The DLQ console's preview (dry run): the selected dead letters, fixed as asked, go through the
 * current pipeline without anything being published. Records bound for a raw subject are checked
 * against the source schema here (as a replay would be), then run through the dataset steps by a
 * transformer replica over NATS request/reply (`trib.preview.<pipeline>`, contract in
 * `@tributary/contract` wire/preview.ts); records bound for a processed subject would go straight
 * to the loader, into the tables of their dataset.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { previewOutcome, subjects, type PreviewError, type PreviewReply, type PreviewResult } from '@tributary/contract/wire';
import { tablesOf, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import type { Pool } from 'pg';
import type { PreviewAnswer, PreviewRecordView } from '@tributary/contract/monitor-api';
import type { FixFn } from './dlq-fix';
import { selectDeadLetters, type DeadLetterSelection } from './dlq-selection';
import { replayRecords, replayTarget, type SourceChecks } from './replay-target';

/** What the preview needs. */
export interface PreviewDeps {
  pool: Pool;
  pipelines: readonly Pipeline[];
  nc: () => NatsConnection | undefined;
  checks: SourceChecks;
  timeoutMs: number;
}

/** The most records a transformer is sent per request (its MAX_PREVIEW_RECORDS). */
const CHUNK = 500;

/** Previews up to `limit` selected dead letters; `truncated` when more matched. */
export async function previewDeadLetters(
  deps: PreviewDeps,
  selection: DeadLetterSelection,
  fix: FixFn,
  limit: number,
): Promise<PreviewAnswer> {
  const views: PreviewRecordView[] = [];
  let truncated = false;
  // Records for the transformer, per pipeline and source: which view each belongs to.
  const asks = new Map<string, { pipeline: string; source: string; records: unknown[]; views: PreviewRecordView[] }>();
  outer: for await (const page of selectDeadLetters(deps.pool, selection, 'seqs' in selection)) {
    for (const d of page.rows) {
      if (views.length >= limit) {
        truncated = true;
        break outer;
      }
      const v: PreviewRecordView = {
        seq: d.seq,
        pipeline: d.pipeline,
        stage: d.stage,
        name: d.name,
        record: d.record,
        changed: false,
        outcome: 'cannot_replay',
        tables: [],
        filtered: [],
        errors: [],
      };
      views.push(v);
      const fail = (message: string, stage: PreviewError['stage'] = d.stage as PreviewError['stage']): void => {
        v.errors.push({ stage, code: 'TRIB_E_VALIDATION', message });
      };
      const fixed = await fix(d);
      if ('error' in fixed) {
        fail(`fix failed: ${fixed.error}`);
        continue;
      }
      v.record = fixed.record;
      v.changed = fixed.changed;
      const target = replayTarget(d);
      const records = replayRecords(fixed.record);
      if (typeof target === 'string' || records === undefined || fixed.record === null) {
        fail(typeof target === 'string' ? target : 'the record was not stored as JSON, so it cannot be previewed');
        continue;
      }
      const pipeline = deps.pipelines.find((p) => p.name === d.pipeline);
      if (!pipeline) {
        fail(`pipeline ${d.pipeline} is not loaded by this monitor`);
        continue;
      }
      if (target.kind === 'processed') {
        for (const row of records)
          for (const t of tablesOf(pipeline, target.name))
            v.tables.push({ table: t.name, dataset: target.name, row: row as Record<string, unknown> });
        v.outcome = previewOutcome(v);
        v.note = 'goes straight to the loader: checked against the pipeline, not against the database';
        continue;
      }
      const valid = records.filter((rec) => {
        const problem = deps.checks.check(d.pipeline, target.name, rec);
        if (problem)
          v.errors.push({
            stage: 'ingest',
            code: 'TRIB_E_VALIDATION',
            message: problem.message,
            ...(problem.field ? { field: problem.field } : {}),
          });
        return !problem;
      });
      const key = `${d.pipeline}/${target.name}`;
      const ask = asks.get(key) ?? { pipeline: d.pipeline, source: target.name, records: [], views: [] };
      asks.set(key, ask);
      for (const rec of valid) {
        ask.records.push(rec);
        ask.views.push(v);
      }
      if (valid.length === 0) v.outcome = previewOutcome(v);
    }
  }
  for (const ask of asks.values()) {
    for (let i = 0; i < ask.records.length; i += CHUNK) {
      const results = await requestPreview(deps, ask.pipeline, ask.source, ask.records.slice(i, i + CHUNK));
      for (const r of results) {
        const v = ask.views[i + r.index]!;
        v.tables.push(...r.tables);
        v.filtered.push(...r.filtered);
        v.errors.push(...r.errors);
      }
    }
    for (const v of new Set(ask.views)) v.outcome = previewOutcome(v);
  }
  const summary: Record<string, number> = { load: 0, filtered: 0, dead_letter: 0, nothing: 0, cannot_replay: 0 };
  for (const v of views) summary[v.outcome] = (summary[v.outcome] ?? 0) + 1;
  return { records: views, summary, truncated };
}

/** Asks a transformer of `pipeline` to run `records` from `source`. */
async function requestPreview(deps: PreviewDeps, pipeline: string, source: string, records: unknown[]): Promise<PreviewResult[]> {
  const nc = deps.nc();
  if (!nc) throw new TributaryError('TRIB_E_UNAVAILABLE', 'the monitor is not connected to NATS');
  let reply: PreviewReply;
  try {
    const msg = await nc.request(subjects.preview(pipeline), JSON.stringify({ source, records }), { timeout: deps.timeoutMs });
    reply = msg.json<PreviewReply>();
  } catch (err) {
    const e = err as Error & { code?: string };
    const why = /no responders/i.test(`${e.message} ${e.code ?? ''} ${e.name}`)
      ? `no transformer answers previews of pipeline ${pipeline} (is one running, with this pipeline?)`
      : `the transformer did not answer the preview of pipeline ${pipeline}: ${e.message}`;
    throw new TributaryError('TRIB_E_UNAVAILABLE', why, { cause: err });
  }
  if ('error' in reply) throw new TributaryError('TRIB_E_UNAVAILABLE', `the transformer refused the preview: ${reply.error.message}`);
  return reply.results;
}
