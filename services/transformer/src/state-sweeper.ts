/**
 * Runs the clocks of the stateful steps of one pipeline: every interval it asks the runner what
 * they release (join records whose wait ended, sessions of idle keys, and garbage collection of
 * idle state), publishes each release through the same path as a transformed input, and confirms
 * it to its step once every PubAck arrived.
 *
 * Several replicas may sweep at once: each release is recorded in its key's KV entry by
 * compare-and-set before it is published, so a record is released once; replicas that see the
 * same unconfirmed release publish it under the same message IDs, which JetStream (or the
 * loader's ledger) drops. A crash between publish and confirm is the same case on the next run.
 */
import { PeriodicTask } from '@tributary/runtime/periodic-task';
import { type Logger } from '@tributary/runtime/logger';
import type { PipelineRunner, ReleasedRun } from './pipeline-runner';

/** Sweeps one pipeline's stateful steps on an interval. */
export class StateSweeper {
  private readonly task: PeriodicTask;

  constructor(
    private readonly opts: {
      runner: PipelineRunner;
      /** Publishes a release's results; resolves once they are durable. */
      publish: (run: ReleasedRun) => Promise<void>;
      logger: Logger;
      intervalMs: number;
    },
  ) {
    this.task = new PeriodicTask({
      intervalMs: opts.intervalMs,
      run: () => this.runOnce(),
      onError: (err) => opts.logger.warn({ err }, 'state sweep failed; retrying'),
    });
  }

  /** Whether the pipeline has steps with a clock. */
  get active(): boolean {
    return this.opts.runner.hasClock();
  }

  /** Runs every `intervalMs` until stopped; failures are logged and retried on the next run. */
  start(): void {
    if (this.active) this.task.start();
  }

  /** Stops after the run in progress. */
  async stop(): Promise<void> {
    await this.task.stop();
  }

  /** One sweep; returns the number of releases published. */
  async runOnce(now = Date.now()): Promise<number> {
    const runs = await this.opts.runner.release(now);
    // Publish all, then confirm those that are durable; a failed one is released again next time.
    const settled = await Promise.allSettled(runs.map(async (r) => (await this.opts.publish(r), await r.confirm())));
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return runs.length;
  }
}
