/**
 * `tributary offsets show|rewind|reset <pipeline> <source>`: a pull source's position (a REST page
 * cursor, a CDC slot and phase, a polled column's last value, file states), as the source committed
 * it in the `trib_cursors` KV bucket (keys in `@tributary/runtime`, source-state.ts). `show` prints
 * it; `rewind` replaces it with a JSON value in the same shape, `reset` deletes it (and its
 * sub-keys) so the source starts from its beginning. Both refuse a running source: pause it first
 * (`tributary sources pause`) and let its run end, or stop the ingest-api. The source's own
 * compare-and-set commits make a replica that still held an old position re-read the new one.
 */
import { parseArgs } from 'node:util';
import { Kvm, type KV } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelines } from '@tributary/contract/spec';
import { connectNats, cursorKey, leaseKey, readScheduleState, readSourcePause } from '@tributary/runtime/nats';
import { UsageError, type Command, type CommandContext } from '../command';

const USAGE = `offsets show <pipeline> <source> [--json]
offsets rewind <pipeline> <source> <json> [--sub KEY]   set the position (the shape \`show\` prints)
offsets reset <pipeline> <source>                       forget it: the source starts from its beginning
rewind and reset need a stopped source: paused (\`tributary sources pause\`) with its last run ended, or no
ingest-api running it; exit 1 when it is running`;

/** Every committed key of the source's position, with its value. */
async function positions(kv: KV, pipeline: string, source: string): Promise<{ key: string; revision: number; value: unknown }[]> {
  const main = cursorKey(pipeline, source);
  const keys = [main];
  for await (const k of await kv.keys(`${main}.>`)) keys.push(k);
  const out: { key: string; revision: number; value: unknown }[] = [];
  for (const key of keys) {
    const e = await kv.get(key);
    if (e && e.operation === 'PUT' && e.length > 0) out.push({ key, revision: e.revision, value: e.json() });
  }
  return out;
}

/** Why the source is not stopped, or undefined when it is. */
async function running(cursors: KV, leases: KV, pipeline: string, source: string, now = Date.now()): Promise<string | undefined> {
  const lease = await leases.get(leaseKey(pipeline, source));
  const held = lease && lease.operation === 'PUT' && lease.length > 0 ? lease.json<{ holder: string; expiresAt: number }>() : undefined;
  if (!held || !held.holder || held.expiresAt <= now) return undefined; // no replica runs it
  const [pause, state] = await Promise.all([readSourcePause(cursors, pipeline, source), readScheduleState(cursors, pipeline, source)]);
  if (!pause) return `replica ${held.holder} runs it: pause it first (tributary sources pause ${pipeline} ${source})`;
  // No run was in progress at the pause when the last one ended after it, when the next was not
  // due yet (a run in progress has its own due time, before it started), or when the scheduler
  // found the source paused and held its run back.
  const idle =
    (state?.last?.finishedAt ?? 0) >= pause.at ||
    (state !== undefined && (state.retryAt ?? state.due) > pause.at) ||
    (state?.held ?? 0) >= pause.at;
  if (!idle)
    return `it is paused, but the run in progress when it was paused has not ended yet (replica ${held.holder}); try again when \`tributary sources status\` shows it`;
  return undefined;
}

async function offsets(sub: string, args: string[], { env, out }: CommandContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { json: { type: 'boolean' }, sub: { type: 'string' } },
    allowPositionals: true,
  });
  const [pipeline, source, value] = positionals;
  if (!pipeline || !source) throw new UsageError(`offsets ${sub} needs a pipeline and a source`);
  if (sub === 'rewind' && value === undefined) throw new UsageError('offsets rewind needs the new position as JSON');
  if (positionals.length > (sub === 'rewind' ? 3 : 2))
    throw new UsageError(`offsets ${sub}: unexpected ${positionals.slice(sub === 'rewind' ? 3 : 2).join(' ')}`);
  const p = loadPipelines(env.TRIBUTARY_PIPELINES).find((x) => x.name === pipeline);
  if (!p) throw new UsageError(`unknown pipeline "${pipeline}"`);
  const kind = p.sources[source]?.kind;
  if (!kind) throw new UsageError(`pipeline "${pipeline}" has no source "${source}" (sources: ${Object.keys(p.sources).join(', ')})`);
  let parsed: unknown;
  if (sub === 'rewind') {
    try {
      parsed = JSON.parse(value!);
    } catch (err) {
      throw new UsageError(`the new position is not JSON: ${(err as Error).message}`);
    }
  }
  const nc = await connectNats(env.NATS_URL, 'tributary-cli', env);
  try {
    const kvm = new Kvm(nc);
    const [cursors, leases] = await Promise.all([kvm.open(BUCKETS.cursors), kvm.open(BUCKETS.leases)]);
    const before = await positions(cursors, pipeline, source);
    if (sub === 'show') {
      if (values.json) out(JSON.stringify(before, null, 2));
      else if (before.length === 0) out(`${pipeline}/${source} (${kind}): no position committed; it starts from its beginning`);
      else for (const b of before) out(`${b.key} (revision ${b.revision}): ${JSON.stringify(b.value)}`);
      return 0;
    }
    const why = await running(cursors, leases, pipeline, source);
    if (why) {
      out(`refused: ${pipeline}/${source} is running: ${why}`);
      return 1;
    }
    if (sub === 'rewind') {
      const key = cursorKey(pipeline, source, values.sub);
      const old = before.find((b) => b.key === key);
      await cursors.put(key, JSON.stringify(parsed));
      out(`${key}: ${old ? JSON.stringify(old.value) : '(none)'} -> ${JSON.stringify(parsed)}`);
    } else {
      for (const b of before) await cursors.delete(b.key);
      out(
        `reset ${pipeline}/${source}: ${before.length} key${before.length === 1 ? '' : 's'} deleted; it starts from its beginning on its next run`,
      );
    }
    return 0;
  } finally {
    await nc.close();
  }
}

/** The `offsets` command. */
export const offsetsCommand: Command = {
  name: 'offsets',
  args: 'show|rewind|reset <pipeline> <source>',
  summary: `a pull source's position (cursor, LSN, file states) in the trib_cursors KV bucket:\n${USAGE}`,
  async run([sub, ...args], ctx) {
    if (sub !== 'show' && sub !== 'rewind' && sub !== 'reset') {
      throw new UsageError(sub ? `unknown offsets subcommand "${sub}"` : 'offsets needs show, rewind or reset');
    }
    return offsets(sub, args, ctx);
  },
};
