/**
 * `tributary sources pause|resume|status <pipeline> <source> [reason]`: an operator stops a pull
 * source without editing its spec, and starts it again. The pause is a key in the `trib_cursors`
 * KV bucket that the ingest-api's scheduler reads before each run; the cursor is untouched, so a
 * resumed source goes on where it stopped. `status` prints the source's last run.
 */
import { hostname, userInfo } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelines } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { connectNats, readScheduleState, readSourcePause, setSourcePause } from '@tributary/runtime/nats';
import { UsageError, type Command } from '../command';

/** The `sources` command. */
export const sourcesCommand: Command = {
  name: 'sources',
  args: 'pause|resume|status <pipeline> <source> [reason]',
  summary: 'stop or start a pull source without editing its spec; status shows its last run',
  async run([action, pipeline, source, ...reason], { env, out }) {
    if (!['pause', 'resume', 'status'].includes(action ?? '') || !pipeline || !source) {
      throw new UsageError('sources needs pause, resume or status, a pipeline and a source');
    }
    const p = loadPipelines(env.TRIBUTARY_PIPELINES).find((x) => x.name === pipeline);
    if (!p) throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pipeline}"`);
    if (!Object.hasOwn(p.sources, source))
      throw new TributaryError('TRIB_E_UNKNOWN_SOURCE', `pipeline "${pipeline}" has no source "${source}"`);
    const nc = await connectNats(env.NATS_URL, 'tributary-cli', env);
    try {
      const kv = await new Kvm(nc).open(BUCKETS.cursors);
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
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
