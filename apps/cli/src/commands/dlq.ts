/**
 * `tributary dlq list|show|preview|replay|discard|audit`: the dead-letter queue through the
 * monitor's API (the console's own), so the CLI and the dashboard see the same records, group them
 * the same way and leave the same audit trail. The write side is in `../dlq/`.
 */
import { parseArgs } from 'node:util';
import type { DeadLetterGroups, DeadLetterView } from '@tributary/contract/monitor-api';
import { UsageError, type Command, type CommandContext } from '../command';
import { act, preview } from '../dlq/dlq-actions';
import { FILTER_OPTIONS, filterOf, sequences } from '../dlq/dlq-selection';
import { monitorRequest } from '../monitor-client';
import { table } from './status';

const GROUP_KEYS = ['pipeline', 'stage', 'name', 'code', 'field', 'schema'];
const SUBCOMMANDS = `dlq list [--pipeline P] [--stage ingest|transform|load] [--name N] [--code TRIB_E_...] [--field F] [--schema FP]
         [--status open|replayed|discarded|all] [--group-by ${GROUP_KEYS.join(',')}] [--limit N] [--json]
dlq show <seq> [--record|--schema] (--record: the record alone, to edit and pass to --record-file;
         --schema: what it must satisfy where it replays to, the source schema or the dataset's fields)
dlq preview (<seq>... | --pipeline P [filters]) [--set field=EXPR]... [--expression EXPR] [--record-file F] [--json]
         dry run of the (fixed) records through the running pipeline: per record, the tables it would
         load into, or why it would be filtered or dead-lettered again; exit 1 when one would be
dlq replay (<seq>... | --pipeline P [filters]) [--set field=EXPR]... [--expression EXPR] [--record-file F]
         [--wait SECONDS (10)] [--force] [--json]: replays, then reports where each record went
dlq discard (<seq>... | --pipeline P [filters]) --reason TEXT [--force]
dlq audit [--limit N] [--json]     who replayed or discarded what, when, how many, with which fix
fixes are JSONata, the language of the pipeline's steps: --set lane=1 sets a field (like a map
step), --expression '$merge([$, {"lane": 1}])' gives the whole new record`;

async function list(args: string[], { env, out }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...FILTER_OPTIONS,
      status: { type: 'string' },
      limit: { type: 'string' },
      'group-by': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const query = new URLSearchParams(filterOf(values));
  if (values.status !== undefined) query.set('status', values.status);
  if (values['group-by'] !== undefined) {
    query.set('by', values['group-by']);
    const r = await monitorRequest<DeadLetterGroups>(env, `/api/dlq/groups?${query}`);
    if (values.json) return (out(JSON.stringify(r, null, 2)), 0);
    const t = r.totals;
    out(`dead letters: ${t.open ?? 0} open, ${t.replayed ?? 0} replayed, ${t.discarded ?? 0} discarded, ${t.all ?? 0} in all`);
    const lines = [[...r.by.map((k) => k.toUpperCase()), 'COUNT', 'FIRST SEEN', 'LAST SEEN', 'SAMPLE', 'MESSAGE']];
    for (const g of r.groups)
      lines.push([
        ...r.by.map((k) => g.key[k] ?? '-'),
        String(g.count),
        g.first_seen ?? '',
        g.last_seen ?? '',
        String(g.sample_seq),
        (g.sample_message ?? '').slice(0, 60),
      ]);
    for (const line of table(lines)) out(line);
    return 0;
  }
  if (values.limit !== undefined) query.set('limit', values.limit);
  const { dead_letters: rows } = await monitorRequest<{ dead_letters: DeadLetterView[] }>(env, `/api/dlq?${query}`);
  if (values.json) out(JSON.stringify(rows, null, 2));
  else {
    const lines = [['SEQ', 'PIPELINE', 'STAGE', 'NAME', 'CODE', 'STATUS', 'FAILED AT', 'MESSAGE']];
    for (const d of rows)
      lines.push([
        String(d.seq),
        d.pipeline,
        d.stage,
        d.name,
        d.error.code ?? '',
        d.status,
        d.failed_at ?? '',
        (d.error.message ?? '').slice(0, 80),
      ]);
    for (const line of table(lines)) out(line);
  }
  return 0;
}

async function audit(args: string[], { env, out }: CommandContext): Promise<number> {
  const { values } = parseArgs({ args, options: { limit: { type: 'string' }, json: { type: 'boolean' } } });
  const q = values.limit ? `?limit=${encodeURIComponent(values.limit)}` : '';
  const { actions } = await monitorRequest<{ actions: Record<string, unknown>[] }>(env, `/api/dlq/actions${q}`);
  if (values.json) return (out(JSON.stringify(actions, null, 2)), 0);
  const lines = [['ID', 'AT', 'ACTOR', 'ACTION', 'REQUESTED', 'DONE', 'SKIPPED', 'FAILED', 'SELECTION', 'FIX', 'NOTE']];
  for (const a of actions)
    lines.push([
      String(a.id),
      String(a.at),
      String(a.actor),
      String(a.action),
      String(a.requested),
      String(a.done),
      String(a.skipped),
      String(a.failed),
      JSON.stringify(a.selection).slice(0, 60),
      a.fix ? JSON.stringify(a.fix).slice(0, 60) : '',
      String(a.note ?? ''),
    ]);
  for (const line of table(lines)) out(line);
  return 0;
}

/** The `dlq` command. */
export const dlqCommand: Command = {
  name: 'dlq',
  args: 'list|show|preview|replay|discard|audit',
  summary: `the dead-letter queue, through the monitor at MONITOR_URL (preview, replay and discard need\nMONITOR_ADMIN_TOKEN); exit 1 when a replay or discard skipped or failed a record, or a record\nwas (or would be) dead-lettered again:\n${SUBCOMMANDS}`,
  async run([sub, ...args], ctx) {
    switch (sub) {
      case 'list':
        return list(args, ctx);
      case 'show': {
        const { values, positionals } = parseArgs({
          args,
          options: { record: { type: 'boolean' }, schema: { type: 'boolean' } },
          allowPositionals: true,
        });
        const [seq] = sequences(positionals);
        if (values.schema) {
          const { hints } = await monitorRequest<{ hints: unknown }>(ctx.env, `/api/dlq/${seq}/hints`);
          ctx.out(JSON.stringify(hints, null, 2));
          return 0;
        }
        const { dead_letter: d } = await monitorRequest<{ dead_letter: DeadLetterView }>(ctx.env, `/api/dlq/${seq}`);
        ctx.out(JSON.stringify(values.record ? d.record : d, null, 2));
        return 0;
      }
      case 'preview':
        return preview(args, ctx);
      case 'replay':
      case 'discard':
        return act(sub, args, ctx);
      case 'audit':
        return audit(args, ctx);
      default:
        throw new UsageError(sub ? `unknown dlq subcommand "${sub}"` : 'dlq needs a subcommand');
    }
  },
};
