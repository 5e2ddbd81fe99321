/**
 * `tributary pipelines pause|resume|status <pipeline> [reason]`: an operator stops a whole
 * pipeline (its transformers take none of its records, which wait in the raw stream) and starts
 * it again; `resume` is also how a pipeline its circuit breaker paused goes on. The pause is the
 * key `pause.<pipeline>` in the `trib_cursors` KV bucket, the same the dashboard and
 * `POST /api/pipelines/<name>/pause|resume` write (docs/operations.md, Circuit breaker).
 */
import { hostname, userInfo } from 'node:os';
import { Kvm } from '@nats-io/kv';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelines } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { connectNats, describePause, readPipelinePause, setPipelinePause } from '@tributary/runtime/nats';
import { UsageError, type Command } from '../command';

/** The `pipelines` command. */
export const pipelinesCommand: Command = {
  name: 'pipelines',
  args: 'pause|resume|status <pipeline> [reason]',
  summary: 'pause or resume a whole pipeline (also one its circuit breaker paused); status says which and why',
  async run([action, pipeline, ...reason], { env, out }) {
    if (!['pause', 'resume', 'status'].includes(action ?? '') || !pipeline) {
      throw new UsageError('pipelines needs pause, resume or status and a pipeline');
    }
    if (!loadPipelines(env.TRIBUTARY_PIPELINES).some((x) => x.name === pipeline))
      throw new TributaryError('TRIB_E_UNKNOWN_PIPELINE', `unknown pipeline "${pipeline}"`);
    const nc = await connectNats(env.NATS_URL, 'tributary-cli', env);
    try {
      const kv = await new Kvm(nc).open(BUCKETS.cursors);
      if (action === 'pause') {
        const by = `${userInfo().username}@${hostname()} (cli)`;
        await setPipelinePause(kv, pipeline, { at: Date.now(), by, ...(reason.length ? { reason: reason.join(' ') } : {}) });
        out(`paused ${pipeline}: its records wait in the raw stream until \`tributary pipelines resume ${pipeline}\``);
      } else if (action === 'resume') {
        const was = await readPipelinePause(kv, pipeline);
        await setPipelinePause(kv, pipeline, undefined);
        out(`resumed ${pipeline}${was ? ` (was ${describePause(was)})` : ' (it was not paused)'}`);
      } else {
        const pause = await readPipelinePause(kv, pipeline);
        out(`${pipeline}: ${pause ? `${describePause(pause)} (since ${new Date(pause.at).toISOString()})` : 'running'}`);
      }
      return 0;
    } finally {
      await nc.close();
    }
  },
};
