/**
 * Per pipeline, whether the transformer takes its raw messages: the pipeline's pause (key
 * `pause.<pipeline>` of `trib_cursors`, shared by every replica: see `pipeline-pause.ts` in the
 * runtime) and its circuit breaker.
 *
 * The consumer loop runs only while the pipeline is not paused: the gate reads the pause every
 * `pollMs`, stops the loop when it appears (the batch in hand finishes; queued messages go back to
 * the stream) and starts a new one when an operator removes it, so accepted records wait in
 * TRIB_RAW meanwhile. The breaker counts, over a sliding window, the records this replica
 * transformed and those it dead-lettered; past `failure_rate` (with at least `min_records`) it
 * writes the pause with its reason and stops this replica's loop at once; the others stop on their
 * next read. Each replica measures the share of the pipeline's messages it takes, a sample of the
 * same traffic, so its rate is the pipeline's.
 */
import type { KV } from '@nats-io/kv';
import type { Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import { describePause, readPipelinePause, setPipelinePause, type BreakerTrip, type PipelinePause } from '@tributary/runtime/nats';
import { PeriodicTask } from '@tributary/runtime/periodic-task';

/** What the gate runs: a consumer loop it can start and stop. */
export interface GatedLoop {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly running: boolean;
  outageSeconds(): number;
}

/** The breaker's settings (the spec's `circuit_breaker`, durations in ms). */
export interface BreakerSettings {
  failure_rate: number;
  min_records: number;
  window: number;
}

/** Counts per second of the window. */
interface Slot {
  second: number;
  records: number;
  failed: number;
  codes: Map<string, { n: number; sample: string }>;
}

/** The failure rate of a pipeline's records over a sliding window. */
export class CircuitBreaker {
  private readonly slots: Slot[] = [];

  constructor(private readonly s: BreakerSettings) {}

  /** Notes one input's records and its failures; returns the trip when the rate crossed the threshold. */
  note(records: number, failures: readonly { code: string; message: string }[], now = Date.now()): BreakerTrip | undefined {
    const second = Math.floor(now / 1000);
    let slot = this.slots.at(-1);
    if (!slot || slot.second !== second) {
      slot = { second, records: 0, failed: 0, codes: new Map() };
      this.slots.push(slot);
    }
    const oldest = Math.floor((now - this.s.window) / 1000);
    while (this.slots.length > 0 && this.slots[0]!.second <= oldest) this.slots.shift();
    slot.records += records;
    slot.failed += Math.min(records, failures.length);
    for (const f of failures) {
      const c = slot.codes.get(f.code);
      if (c) c.n++;
      else slot.codes.set(f.code, { n: 1, sample: f.message.length > 200 ? `${f.message.slice(0, 200)}...` : f.message });
    }
    let total = 0;
    let failed = 0;
    for (const x of this.slots) {
      total += x.records;
      failed += x.failed;
    }
    if (total < this.s.min_records || failed / total <= this.s.failure_rate) return undefined;
    const codes = new Map<string, { n: number; sample: string }>();
    for (const x of this.slots)
      for (const [code, c] of x.codes) {
        const have = codes.get(code);
        codes.set(code, { n: (have?.n ?? 0) + c.n, sample: c.sample });
      }
    const top = [...codes.entries()].sort((a, b) => b[1].n - a[1].n)[0];
    return {
      failed,
      records: total,
      threshold: this.s.failure_rate,
      windowMs: this.s.window,
      ...(top ? { code: top[0], sample: top[1].sample } : {}),
    };
  }

  /** Forgets what it counted (after a resume: the operator decided). */
  reset(): void {
    this.slots.length = 0;
  }
}

/** Runs a pipeline's consumer loop while the pipeline is not paused. */
export class PipelineGate {
  private loop: GatedLoop | undefined;
  private paused: PipelinePause | undefined;
  private readonly task: PeriodicTask;
  private readonly breaker: CircuitBreaker | undefined;
  private tripping = false;
  /** Changes of state are applied one at a time. */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly o: {
      pipeline: Pipeline;
      /** The `trib_cursors` bucket; absent: never paused, no breaker. */
      kv: KV | undefined;
      makeLoop: () => GatedLoop;
      logger: Logger;
      pollMs: number;
      onTrip?: (trip: BreakerTrip) => void;
    },
  ) {
    const cb = o.pipeline.circuit_breaker;
    this.breaker = cb && o.kv ? new CircuitBreaker(cb) : undefined;
    this.task = new PeriodicTask({
      intervalMs: o.pollMs,
      run: () => this.refresh(),
      onError: (err) => o.logger.warn({ err }, 'cannot read the pipeline pause; keeping the current state'),
    });
  }

  /** Whether the loop is running, or the pipeline is paused on purpose (both are ready). */
  get ready(): boolean {
    return this.paused !== undefined || (this.loop?.running ?? false);
  }

  /** Seconds the running loop has been retrying an outage. */
  outageSeconds(): number {
    return this.loop?.outageSeconds() ?? 0;
  }

  /** Reads the pause and starts the loop unless paused; then keeps reading. */
  async start(): Promise<void> {
    await this.refresh().catch(async (err: unknown) => {
      // The pause cannot be read (KV down, no permission): run, and keep trying to read it.
      this.o.logger.warn({ err }, 'cannot read the pipeline pause at start; running until it can be read');
      this.loop ??= this.o.makeLoop();
      await this.loop.start();
    });
    this.task.start();
  }

  private refresh(): Promise<void> {
    const next = this.chain.then(async () => {
      const pause = this.o.kv ? await readPipelinePause(this.o.kv, this.o.pipeline.name) : undefined;
      if (pause && !this.paused) {
        this.paused = pause;
        this.o.logger.warn({ pause }, `pipeline ${describePause(pause)}; its records wait in the raw stream`);
        await this.stopLoop();
      } else if (!pause && (this.paused || !this.loop)) {
        if (this.paused) this.o.logger.info('pipeline resumed');
        this.paused = undefined;
        this.breaker?.reset();
        this.loop = this.o.makeLoop();
        await this.loop.start();
      } else if (pause) this.paused = pause;
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async stopLoop(): Promise<void> {
    const loop = this.loop;
    this.loop = undefined;
    await loop?.stop();
  }

  /**
   * Notes one transformed input (`records` records, `failures` of them dead-lettered). When the
   * breaker trips, pauses the pipeline for every replica and stops this one's loop.
   */
  note(records: number, failures: readonly { code: string; message: string }[]): void {
    if (!this.breaker || this.paused || this.tripping) return;
    const trip = this.breaker.note(records, failures);
    if (!trip) return;
    this.tripping = true;
    const pause: PipelinePause = { at: Date.now(), by: 'circuit breaker', breaker: trip };
    this.o.onTrip?.(trip);
    // Stopping waits for the batch in hand, which is running this very call: not awaited here.
    void setPipelinePause(this.o.kv!, this.o.pipeline.name, pause)
      .then(() => this.refresh())
      .catch((err: unknown) => this.o.logger.error({ err }, 'circuit breaker tripped but cannot write the pause'))
      .finally(() => (this.tripping = false));
  }

  /** Stops reading the pause and the loop (the batch in hand finishes). */
  async stop(): Promise<void> {
    await this.task.stop();
    await this.chain;
    await this.stopLoop();
  }
}
