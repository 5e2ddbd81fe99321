/**
 * `tributary dlq preview|replay|discard`: the DLQ console's write side through the monitor's API
 * (admin token), printing per record what a fix would do (preview) or did (replay's outcome).
 */
import { parseArgs } from 'node:util';
import type { ActionResult, PreviewAnswer, PreviewRecordView, ReplayOutcome } from '@tributary/contract/monitor-api';
import { UsageError, type CommandContext } from '../command';
import { monitorRequest } from '../monitor-client';
import { FILTER_OPTIONS, FIX_OPTIONS, fixOf, selectionOf } from './dlq-selection';

/** What a preview record says, in one line. */
function describePreview(r: PreviewRecordView): string {
  const why = r.errors.map((e) => `${e.stage}${e.dataset ? ` ${e.dataset}` : ''}: ${e.code} ${e.message}`).join('; ');
  const where =
    r.outcome === 'load'
      ? `would load into ${[...new Set(r.tables.map((t) => t.table))].join(', ')}`
      : r.outcome === 'filtered'
        ? `would be filtered (${r.filtered.join(', ')})`
        : r.outcome === 'dead_letter'
          ? `would be dead-lettered again: ${why}`
          : 'would reach no dataset';
  return `  ${r.seq} (${r.stage} ${r.name}${r.changed ? ', fixed' : ''}): ${where}`;
}

/** What a replay did to one record, in one line. */
function describeOutcome(o: ReplayOutcome): string {
  if (o.outcome === 'loaded')
    return `  ${o.seq}: loaded into ${Object.entries(o.tables ?? {})
      .map(([t, n]) => `${t} (${n})`)
      .join(', ')}`;
  if (o.outcome === 'dead_lettered')
    return `  ${o.seq}: dead-lettered again: ${(o.dead_letters ?? []).map((d) => `#${d.seq} ${d.code} ${d.message}`).join('; ')}`;
  if (o.outcome === 'filtered') return `  ${o.seq}: filtered by the pipeline`;
  return `  ${o.seq}: outcome not known yet (still on its way; see \`tributary dlq list\` and \`status\`)`;
}

/** `dlq preview`: exit 1 when a record would be dead-lettered again. */
export async function preview(args: string[], { env, out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...FILTER_OPTIONS, ...FIX_OPTIONS, limit: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  const selection = selectionOf(positionals, values);
  const fix = fixOf(values, selection);
  const r = await monitorRequest<PreviewAnswer>(env, '/api/dlq/preview', {
    ...selection,
    ...(fix ? { fix } : {}),
    ...(values.limit ? { limit: Number(values.limit) } : {}),
  });
  if (values.json) out(JSON.stringify(r, null, 2));
  else {
    const s = r.summary;
    out(
      `preview of ${r.records.length} dead letters${r.truncated ? ' (more match: raise --limit)' : ''}: ${s.load ?? 0} would load, ${s.filtered ?? 0} filtered, ${s.dead_letter ?? 0} dead-lettered again`,
    );
    for (const rec of r.records) out(describePreview(rec));
  }
  return r.records.some((x) => x.outcome === 'dead_letter') ? 1 : 0;
}

/** `dlq replay` and `dlq discard`: exit 1 when a record was skipped, failed, or dead-lettered again. */
export async function act(action: 'replay' | 'discard', args: string[], { env, out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...FILTER_OPTIONS,
      ...FIX_OPTIONS,
      force: { type: 'boolean' },
      reason: { type: 'string' },
      wait: { type: 'string' },
      json: { type: 'boolean' },
    },
    allowPositionals: true,
  });
  const selection = selectionOf(positionals, values);
  if (action === 'discard' && !values.reason?.trim()) throw new UsageError('dlq discard needs --reason: it is kept in the audit trail');
  const fix = fixOf(values, selection);
  if (fix && action === 'discard') throw new UsageError('dlq discard takes no fix (--set, --expression, --record-file)');
  const waitS = values.wait === undefined ? 10 : Number(values.wait);
  if (!Number.isFinite(waitS) || waitS < 0 || waitS > 30)
    throw new UsageError(`--wait "${values.wait}" is not a number of seconds from 0 to 30`);
  const r = await monitorRequest<ActionResult>(env, `/api/dlq/${action}`, {
    ...selection,
    ...(values.force ? { force: true } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
    ...(fix ? { fix } : {}),
    ...(action === 'replay' ? { wait_ms: Math.round(waitS * 1000) } : {}),
  });
  if (values.json) out(JSON.stringify(r, null, 2));
  else {
    out(`${action} (audit action ${r.action_id}): ${r.done} done, ${r.skipped} skipped (already handled or not found), ${r.failed} failed`);
    for (const e of r.errors) out(`  ${e.seq}: ${e.message}`);
    for (const o of r.outcomes ?? []) out(describeOutcome(o));
  }
  const again = (r.outcomes ?? []).some((o) => o.outcome === 'dead_lettered');
  return r.failed > 0 || r.skipped > 0 || again ? 1 : 0;
}
