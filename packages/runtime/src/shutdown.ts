/**
 * Ordered shutdown: the one `stop()` of every service's composition root. A service names its
 * steps once, in the order they must run (stop announcing itself, stop taking work, finish the
 * work in hand, close the HTTP server, drain NATS, close the database), and `stop()` runs them.
 */
/** Something that can be stopped gracefully. */
export interface Stoppable {
  stop(): Promise<void>;
}

/** One step: stops one thing, or several at once (`stopEach`). May return nothing. */
export type ShutdownStep = () => unknown;

/**
 * Steps run one after another in the order they were added. A step that throws is logged
 * (`error while stopping: <what>`) and the next steps still run, so one broken part never leaves
 * connections open; `stop()` then rejects with the first failure. `stop()` runs the steps once:
 * a second call (a signal during a failed start's clean-up) waits for the same run.
 */
export class Shutdown implements Stoppable {
  private readonly steps: { what: string; run: ShutdownStep }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly logger: { warn(obj: object, msg: string): void }) {}

  /** Adds a step after those already added; `what` names it in the log. */
  step(what: string, run: ShutdownStep): this {
    this.steps.push({ what, run });
    return this;
  }

  stop(): Promise<void> {
    this.running ??= this.runSteps();
    return this.running;
  }

  private async runSteps(): Promise<void> {
    const errors: unknown[] = [];
    for (const { what, run } of this.steps) {
      try {
        await run();
      } catch (err) {
        errors.push(err);
        this.logger.warn({ err }, `error while stopping: ${what}`);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** Resolves once every promise settled; rejects with the first failure. */
export async function settleAll(pending: Iterable<Promise<unknown>>): Promise<void> {
  const settled = await Promise.allSettled(pending);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
}

/**
 * Stops every one of `items` at once and waits for all of them, even when one fails; rejects
 * with the first failure. `items` is read when called, so a step can stop what was started since.
 */
export function stopEach(items: Iterable<Stoppable>): Promise<void> {
  return settleAll([...items].map((i) => i.stop()));
}
