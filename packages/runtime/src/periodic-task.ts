/**
 * A task run every `intervalMs` (measured from the end of one run to the start of the next, so
 * runs never overlap), with failures reported and retried on the next run, and a `stop()` that
 * waits for the run in progress. The one timer loop the services' sweepers, finalizers and
 * schedulers share.
 */

/** What to run, how often, and where a failed run is reported. */
export interface PeriodicTaskOptions {
  /** Milliseconds between the end of one run and the start of the next. */
  intervalMs: number;
  /** One run; a rejection goes to `onError` and the task runs again after the interval. */
  run: () => Promise<unknown>;
  /** Reports a failed run (the task keeps going). */
  onError: (err: unknown) => void;
  /** Run once right away on `start()` (default: the first run comes after one interval). */
  runAtStart?: boolean;
  /** Let the process exit while only this timer is pending (default false). */
  unref?: boolean;
}

/** A started-on-demand, stop-and-wait timer loop. */
export class PeriodicTask {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private started = false;
  private stopped = false;

  constructor(private readonly opts: PeriodicTaskOptions) {}

  /** Starts the loop (once; later calls do nothing). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.opts.runAtStart) this.tick();
    else this.schedule();
  }

  /** Stops scheduling and waits for the run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), this.opts.intervalMs);
    if (this.opts.unref) this.timer.unref();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.opts
      .run()
      .catch((err: unknown) => this.opts.onError(err))
      .finally(() => this.schedule());
  }
}
