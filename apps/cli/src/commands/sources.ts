/**
 * `tributary sources pause|resume|status <pipeline> <source> [reason]`: an operator stops a pull
 * source without editing its spec, and starts it again. The pause is a key in the `trib_cursors`
 * KV bucket that the ingest-api's scheduler reads before each run; the cursor is untouched, so a
 * resumed source goes on where it stopped. `status` prints the source's last run and its last
 * resnapshot.
 *
 * `tributary sources resnapshot <pipeline> <source> --table <schema.table> [--where <predicate>]`
 * asks a running `postgres_cdc` source to read a table (or the rows a predicate selects) again, so
 * rows loaded before an `on_drift: evolve` column existed get its values (docs/transforms.md). The
 * request is the cursor sub-key `resnapshot` in `trib_cursors`, which the source takes up
 * (`services/ingest-api/src/sources/pg/resnapshot.ts`); it is refused here when a table the re-read
 * reaches would count its rows twice (`resnapshotTargets`).
 */
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelines, sourceTableName, resnapshotTargets, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import {
  connectNats,
  cursorKey,
  readResnapshot,
  readScheduleState,
  readSourcePause,
  setSourcePause,
  RESNAPSHOT_SUB,
  type SourceResnapshot,
} from '@tributary/runtime/nats';
import { UsageError, type Command, type CommandContext } from '../command';

/** One line describing a resnapshot request. */
export function describeResnapshot(r: SourceResnapshot): string {
  const what = `${r.table}${r.where ? ` where ${r.where}` : ''}`;
  const at = (t: number | undefined): string => (t ? new Date(t).toISOString() : '?');
  switch (r.state) {
    case 'requested':
      return `resnapshot of ${what}: requested by ${r.by} at ${at(r.requestedAt)}, waiting for the source`;
    case 'running':
      return `resnapshot of ${what}: running since ${at(r.startedAt)} (attempt ${r.attempts ?? 1}${r.lsn ? `, at LSN ${r.lsn}` : ''}${r.rows !== undefined ? `, ${r.rows} rows published` : ''})`;
    case 'done':
      return `resnapshot of ${what}: done at ${at(r.finishedAt)}, ${r.rows ?? 0} rows at LSN ${r.lsn ?? '?'}`;
    default:
      return `resnapshot of ${what}: failed at ${at(r.finishedAt)}: ${r.error ?? 'unknown error'}`;
  }
}

/** Checks a resnapshot request against the spec; returns the qualified table. */
function checkResnapshot(p: Pipeline, source: string, table: string): string {
  const spec = p.sources[source]!;
  if (spec.kind !== 'postgres_cdc')
    throw new UsageError(
      `resnapshot re-reads postgres_cdc tables; ${p.name}/${source} is ${spec.kind} (re-run a window with \`tributary offsets rewind\`)`,
    );
  const q = sourceTableName(table);
  const tables = (spec as { tables: string[] }).tables.map(sourceTableName);
  if (!tables.includes(q)) throw new UsageError(`${p.name}/${source} does not capture ${q} (tables: ${tables.join(', ')})`);
  const targets = resnapshotTargets(p, source, q);
  const refused = targets.filter((t) => t.refused);
  if (refused.length > 0)
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `resnapshot of ${q} refused for pipeline "${p.name}": ${refused.map((t) => `table "${t.table}" (dataset "${t.dataset}", ${t.mode}): ${t.refused}`).join('; ')}`,
    );
  if (targets.length === 0)
    throw new TributaryError('TRIB_E_CONFIG', `resnapshot of ${q}: no table of pipeline "${p.name}" keeps its rows`);
  return q;
}

/** Writes a resnapshot request unless one is waiting or running. */
async function requestResnapshot(kv: KV, p: Pipeline, source: string, args: string[], { out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { table: { type: 'string' }, where: { type: 'string' } },
    allowPositionals: true,
  });
  if (!values.table) throw new UsageError('sources resnapshot needs --table <schema.table>');
  if (positionals.length > 0) throw new UsageError(`sources resnapshot: unexpected ${positionals.join(' ')}`);
  if (values.where !== undefined && values.where.trim() === '') throw new UsageError('--where needs a predicate');
  const table = checkResnapshot(p, source, values.table);
  const key = cursorKey(p.name, source, RESNAPSHOT_SUB);
  const entry = await kv.get(key);
  const last = entry && entry.operation === 'PUT' && entry.length > 0 ? entry.json<SourceResnapshot>() : undefined;
  if (last && (last.state === 'requested' || last.state === 'running')) {
    out(`refused: ${p.name}/${source} has a ${describeResnapshot(last)}; one at a time`);
    return 1;
  }
  const request: SourceResnapshot = {
    id: randomUUID().slice(0, 8),
    table,
    ...(values.where ? { where: values.where } : {}),
    requestedAt: Date.now(),
    by: `${userInfo().username}@${hostname()} (cli)`,
    state: 'requested',
  };
  // Compare-and-set: a request written meanwhile by someone else wins, and this one is refused.
  if (entry && entry.operation === 'PUT') await kv.update(key, JSON.stringify(request), entry.revision);
  else await kv.create(key, JSON.stringify(request));
  out(`requested resnapshot ${request.id} of ${table}${request.where ? ` where ${request.where}` : ''} from ${p.name}/${source}`);
  out(`the running source takes it up within seconds; follow it with \`tributary sources status ${p.name} ${source}\``);
  return 0;
}

/** The `sources` command. */
export const sourcesCommand: Command = {
  name: 'sources',
  args: 'pause|resume|status|resnapshot <pipeline> <source> [reason | --table <schema.table> [--where <predicate>]]',
  summary:
    'stop or start a pull source without editing its spec; status shows its last run;\nresnapshot: a running postgres_cdc source reads a table again (rows loaded before an evolved column get it)',
  async run([action, pipeline, source, ...reason], ctx) {
    const { env, out } = ctx;
    if (!['pause', 'resume', 'status', 'resnapshot'].includes(action ?? '') || !pipeline || !source) {
      throw new UsageError('sources needs pause, resume, status or resnapshot, a pipeline and a source');
    }
    const p = loadPipelines(env.TRIBUTARY_PIPELINES).find((x) => x.name === pipeline);
    if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pipeline}"`);
    if (!Object.hasOwn(p.sources, source))
      throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${pipeline}" has no source "${source}"`);
    const nc = await connectNats(env.NATS_URL, 'tributary-cli', env);
    try {
      const kv = await new Kvm(nc).open(BUCKETS.cursors);
      if (action === 'resnapshot') return await requestResnapshot(kv, p, source, reason, ctx);
      if (action === 'pause') {
        const by = `${userInfo().username}@${hostname()} (cli)`;
        await setSourcePause(kv, pipeline, source, { at: Date.now(), by, ...(reason.length ? { reason: reason.join(' ') } : {}) });
        out(`paused ${pipeline}/${source}: its next run waits until \`tributary sources resume ${pipeline} ${source}\``);
      } else if (action === 'resume') {
        await setSourcePause(kv, pipeline, source, undefined);
        out(`resumed ${pipeline}/${source}`);
      } else {
        const [state, pause] = await Promise.all([readScheduleState(kv, pipeline, source), readSourcePause(kv, pipeline, source)]);
        const last = state?.last;
        out(`${pipeline}/${source}: ${pause ? `paused by ${pause.by} at ${new Date(pause.at).toISOString()}` : 'running'}`);
        out(
          last
            ? `last run: ${last.outcome} at ${new Date(last.finishedAt).toISOString()}, ${last.pages ?? '?'} pages, ${last.records ?? '?'} records${last.error ? `: ${last.error}` : ''}`
            : 'last run: none yet',
        );
        if (state) out(`failures in a row: ${state.failures}; next run: ${new Date(state.retryAt ?? state.due).toISOString()}`);
        const resnapshot = await readResnapshot(kv, pipeline, source);
        if (resnapshot) out(describeResnapshot(resnapshot));
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
