/**
 * `tributary dlq list|show|replay|discard`: the dead-letter queue through the monitor's API (the
 * console's own), so the CLI and the dashboard see the same records and leave the same audit trail.
 */
import { parseArgs } from 'node:util';
import { UsageError, type Command, type CommandContext } from '../command';
import { monitorRequest } from '../monitor-client';
import { table } from './status';

/** The fields of a dead letter this command shows. */
interface DeadLetterView {
  seq: number;
  pipeline: string;
  stage: string;
  name: string;
  error: { code: string | null; message: string | null };
  failed_at: string | null;
  status: string;
}

/** The monitor's answer to a replay or discard. */
interface ActionResult {
  action_id: number;
  requested: number;
  done: number;
  skipped: number;
  failed: number;
  errors: { seq: number; message: string }[];
}

const SUBCOMMANDS = `dlq list [--pipeline P] [--stage ingest|transform|load] [--code TRIB_E_...] [--status open|replayed|discarded|all] [--limit N] [--json]
dlq show <seq>
dlq replay <seq>... [--force]
dlq discard <seq>... --reason TEXT [--force]`;

const sequences = (positionals: string[]): number[] => {
  if (positionals.length === 0) throw new UsageError('name at least one dead letter by its sequence number (see `tributary dlq list`)');
  return positionals.map((p) => {
    if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`"${p}" is not a dead letter's sequence number`);
    return Number(p);
  });
};

async function list(args: string[], { env, out }: CommandContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      pipeline: { type: 'string' },
      stage: { type: 'string' },
      code: { type: 'string' },
      status: { type: 'string' },
      limit: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const query = new URLSearchParams();
  for (const k of ['pipeline', 'stage', 'code', 'status', 'limit'] as const) if (values[k] !== undefined) query.set(k, values[k]);
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

async function act(action: 'replay' | 'discard', args: string[], { env, out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: 'boolean' }, reason: { type: 'string' } },
    allowPositionals: true,
  });
  const seqs = sequences(positionals);
  if (action === 'discard' && !values.reason?.trim()) throw new UsageError('dlq discard needs --reason: it is kept in the audit trail');
  const r = await monitorRequest<ActionResult>(env, `/api/dlq/${action}`, {
    seqs,
    ...(values.force ? { force: true } : {}),
    ...(values.reason ? { reason: values.reason } : {}),
  });
  out(`${action} (audit action ${r.action_id}): ${r.done} done, ${r.skipped} skipped (already handled or not found), ${r.failed} failed`);
  for (const e of r.errors) out(`  ${e.seq}: ${e.message}`);
  return r.failed > 0 || r.skipped > 0 ? 1 : 0;
}

/** The `dlq` command. */
export const dlqCommand: Command = {
  name: 'dlq',
  args: 'list|show|replay|discard',
  summary: `the dead-letter queue, through the monitor at MONITOR_URL (replay and discard need\nMONITOR_ADMIN_TOKEN); exit 1 when a replay or discard skipped or failed a record:\n${SUBCOMMANDS}`,
  async run([sub, ...args], ctx) {
    switch (sub) {
      case 'list':
        return list(args, ctx);
      case 'show': {
        const [seq] = sequences(args);
        const { dead_letter: d } = await monitorRequest<{ dead_letter: unknown }>(ctx.env, `/api/dlq/${seq}`);
        ctx.out(JSON.stringify(d, null, 2));
        return 0;
      }
      case 'replay':
      case 'discard':
        return act(sub, args, ctx);
      default:
        throw new UsageError(sub ? `unknown dlq subcommand "${sub}"` : 'dlq needs a subcommand');
    }
  },
};
