/**
 * The `tributary backfill <pipeline.yaml> [--stage processed|raw] [--dataset NAME] [--from DAY]
 * [--to DAY] [--dry-run]` command: argument checks, the pipeline's archive store, a NATS
 * connection, and a report of what was republished.
 */
import { parseArgs } from 'node:util';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { TributaryError } from '@tributary/contract/errors';
import { STREAMS } from '@tributary/contract/wire';
import { ARCHIVE_STAGES, type ArchiveStage, loadPipelineFile } from '@tributary/contract/spec';
import { connectNats, type NatsAuth, checkTopology } from '@tributary/runtime/nats';
import { openArchiveStore, type ArchiveEnv, backfill } from '@tributary/archive';
import type { Command } from '../command';

/** Usage line of the command. */
export const BACKFILL_USAGE =
  'backfill <pipeline.yaml> [--stage processed|raw] [--dataset NAME] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--dry-run]';

const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** Runs the command; resolves with the exit code. */
export async function backfillCommand(
  argv: string[],
  env: ArchiveEnv & NatsAuth & { NATS_URL: string },
  out: (line: string) => void,
): Promise<number> {
  const usage = (message: string): never => {
    throw new TributaryError('TRIB_E_CONFIG', `${message}\nusage: tributary ${BACKFILL_USAGE}`);
  };
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        stage: { type: 'string', default: 'processed' },
        dataset: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        'dry-run': { type: 'boolean', default: false },
      },
    });
  } catch (err) {
    return usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) usage('name exactly one pipeline file');
  const stage = values.stage as ArchiveStage;
  if (!ARCHIVE_STAGES.includes(stage)) usage(`--stage must be ${ARCHIVE_STAGES.join(' or ')}, not "${values.stage}"`);
  for (const opt of ['from', 'to'] as const) {
    const v = values[opt];
    if (v !== undefined && (!DAY_RE.test(v) || Number.isNaN(Date.parse(`${v}T00:00:00Z`))))
      usage(`--${opt} must be a day YYYY-MM-DD, not "${v}"`);
  }
  if (values.from && values.to && values.from > values.to) usage(`--from ${values.from} is after --to ${values.to}`);

  const pipeline = loadPipelineFile(positionals[0]!);
  const store = await openArchiveStore(pipeline, env);
  const nc = values['dry-run'] ? undefined : await connectNats(env.NATS_URL, 'tributary-backfill', env);
  try {
    if (nc) await checkTopology(await jetstreamManager(nc), { streams: [stage === 'raw' ? STREAMS.raw : STREAMS.processed] });
    const r = await backfill({
      pipeline,
      store,
      stage,
      ...(values.dataset ? { name: values.dataset } : {}),
      ...(values.from ? { from: values.from } : {}),
      ...(values.to ? { to: values.to } : {}),
      ...(nc ? { js: jetstream(nc) } : {}),
    });
    for (const k of r.foreign) out(`ignored ${k}: not an archive file name`);
    out(
      `${values['dry-run'] ? 'checked' : 'backfilled'} ${pipeline.name} ${stage} from ${store.location}: ` +
        `${r.files} files, ${r.messages} messages, ${r.records} records`,
    );
    if (nc) {
      out(`published ${r.published} messages; ${r.duplicates} dropped by JetStream as repeats inside its duplicate window`);
      out('the loader skips every message its load ledger already has, so a repeated backfill loads nothing twice');
    }
    if (r.repeatedInArchive) out(`${r.repeatedInArchive} messages were in more than one file and were published once`);
    return 0;
  } finally {
    store.close();
    await nc?.drain().catch(() => undefined);
  }
}

/** The `backfill` command. */
export const backfillCliCommand: Command = {
  name: 'backfill',
  args: BACKFILL_USAGE.slice('backfill '.length),
  summary: 'republish archived batches with their original message IDs (README: Archive and backfill)',
  run: (args, { env, out }) => backfillCommand(args, env, out),
};
