/**
 * One pull source under the scheduler: a loop that takes the source's lease (`source.<pipeline>.<source>`
 * in `trib_leases`), keeps renewing it, runs the source when due, and hands the lease over on
 * stop. Every replica runs this loop for every pull source; only the lease holder runs the
 * source, the others retry the lease every third of its TTL and take over once it expired.
 *
 * The schedule's state (when the next run is due, consecutive failures) lives in `trib_cursors`
 * under `schedule.<pipeline>.<source>`, so a replica that takes over continues the same schedule,
 * and a run that was cut short is run again with the same `scheduledAt`.
 *
 * Longer than 300 lines because it is one loop (lease, schedule, run, health) whose parts share the
 * lease and the schedule state.
 */
import type { KV } from '@nats-io/kv';
import { nuid } from '@nats-io/transport-node';
import { KvLease, leaseKey, readSourcePause, scheduleKey, type SourceLastRun, type SourceScheduleState } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';
import type { PullContext, PullRunResult, PullSchedule, PullSource, ScheduledPull } from './pull-contract';
import { backoffDelay, sleep } from './backoff';
import { ScheduleClock } from './schedule-clock';

/** The schedule state kept in KV (its shape is shared with the monitor and the CLI). */
export type ScheduleState = SourceScheduleState;

/** The record of a source's last finished run, shown by `GET /api/pipelines/<name>` and the dashboard. */
export type LastRun = SourceLastRun;

export { leaseKey, scheduleKey };

/** Everything a ScheduledSource needs; built by SourceRunner. */
export interface ScheduledSourceOptions {
  pipeline: Pipeline;
  name: string;
  schedule: PullSchedule;
  source: PullSource;
  logger: Logger;
  leases: KV;
  cursors: KV;
  /** Unique per replica (and process): the lease holder's name. */
  holder: string;
  leaseTtlMs: number;
  /** Backoff of failed runs: first retry after up to `initialMs`, doubling up to `maxMs`. */
  retry: { initialMs: number; maxMs: number };
  /** Builds the context of one run (publish, cursors, DLQ) with the given signal. */
  context: (base: { signal: AbortSignal; scheduledAt: number; runId: string; logger: Logger; healthy: () => void }) => PullContext;
  /** Called after each run and lease change, for metrics. */
  observe?: (
    e: { type: 'run'; outcome: 'ok' | 'partial' | 'failed' | 'aborted'; seconds: number } | { type: 'lease'; held: boolean },
  ) => void;
}

/** How often a continuous source's `ctx.healthy()` is written to KV at most (failures reset at once). */
const HEALTHY_WRITE_MS = 10_000;

/** A pull source's lease-and-schedule loop. */
export class ScheduledSource implements ScheduledPull {
  private readonly stopping = new AbortController();
  private readonly lease: KvLease;
  private readonly clock: ScheduleClock;
  private loop?: Promise<void>;
  private tenure?: AbortController;
  private renewer?: NodeJS.Timeout;
  private wake?: () => void;
  private pausedLogged = false;

  constructor(private readonly o: ScheduledSourceOptions) {
    this.lease = new KvLease(o.leases, leaseKey(o.pipeline.name, o.name), o.holder, o.leaseTtlMs);
    this.clock = new ScheduleClock(o.schedule);
  }

  /** Whether this replica currently holds the source's lease. */
  get leaseHeld(): boolean {
    return this.lease.isHeld;
  }

  /** Starts the loop in the background. */
  async start(): Promise<void> {
    this.watchReleases();
    this.loop = this.main().catch((err: unknown) => this.o.logger.error({ err }, 'source scheduler loop failed'));
  }

  /**
   * Wakes a waiting contender as soon as the lease key changes (a holder releasing on stop), so a
   * graceful handover takes a KV round trip instead of up to a third of the TTL.
   */
  private watchReleases(): void {
    void (async () => {
      try {
        const updates = await this.o.leases.watch({ key: this.lease.key });
        this.stopping.signal.addEventListener('abort', () => updates.stop(), { once: true });
        for await (const _e of updates) this.wake?.();
      } catch {
        // No watch (KV unavailable): contenders still retry every beat.
      }
    })();
  }

  /** Aborts a run in progress, waits for it, and releases the lease so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopping.abort(new TributaryError('TRIB_E_UNAVAILABLE', 'ingest-api is stopping'));
    await this.loop;
  }

  /** Renewals and contention attempts happen at this pace: three chances per TTL. */
  private get beatMs(): number {
    return Math.max(20, Math.floor(this.o.leaseTtlMs / 3));
  }

  private async main(): Promise<void> {
    const stop = this.stopping.signal;
    while (!stop.aborted) {
      if (!this.tenure || this.tenure.signal.aborted) {
        if (!(await this.lease.tryAcquire())) {
          await Promise.race([sleep(this.beatMs, stop).catch(() => undefined), new Promise<void>((resolve) => (this.wake = resolve))]);
          this.wake = undefined;
          continue;
        }
        this.startTenure();
      }
      const signal = AbortSignal.any([stop, this.tenure!.signal]);
      try {
        const state = await this.readState();
        const wakeAt = state.retryAt ?? state.due;
        if (Date.now() < wakeAt) {
          await sleep(wakeAt - Date.now(), signal);
          continue;
        }
        // Paused by an operator: the due run waits (it runs on resume, from its cursor), the lease stays.
        if (await readSourcePause(this.o.cursors, this.o.pipeline.name, this.o.name)) {
          if (!this.pausedLogged) {
            this.o.logger.info('source paused; its due run waits for resume');
            // Said in the state too: no run is in progress now, so its cursor may be moved.
            await this.writeState({ ...state, held: Date.now() });
          }
          this.pausedLogged = true;
          await sleep(this.beatMs, signal);
          continue;
        }
        this.pausedLogged = false;
        await this.runOnce(state, signal);
      } catch (err) {
        // KV unavailable while reading or writing the schedule: wait a beat and look again.
        if (!signal.aborted) {
          this.o.logger.warn({ err }, 'schedule state unavailable');
          await sleep(this.beatMs, signal).catch(() => undefined);
        }
      }
    }
    this.endTenure();
    if (this.lease.isHeld) {
      await this.lease.release();
      this.o.logger.info({ pipeline: this.o.pipeline.name, source: this.o.name, lease: this.lease.key }, 'source lease released');
    }
  }

  private startTenure(): void {
    const tenure = new AbortController();
    this.tenure = tenure;
    this.o.logger.info(
      { pipeline: this.o.pipeline.name, source: this.o.name, lease: this.lease.key, holder: this.o.holder },
      'source lease taken',
    );
    this.o.observe?.({ type: 'lease', held: true });
    let renewing = false;
    // A watchdog, not a PeriodicTask: it must keep ticking while a renewal hangs, to end the
    // tenure at the lease's expiry (a PeriodicTask's next run waits for the last to end).
    // eslint-disable-next-line no-restricted-globals
    this.renewer = setInterval(() => {
      // A renewal that hangs (KV slow or cut off) must not outlive the lease: stop at its expiry.
      if (!tenure.signal.aborted && Date.now() >= this.lease.validUntil) {
        this.o.logger.warn(
          { pipeline: this.o.pipeline.name, source: this.o.name, lease: this.lease.key },
          'source lease expired without renewal; stopping the run in progress',
        );
        this.endTenure(new TributaryError('TRIB_E_UNAVAILABLE', `lease ${this.lease.key} expired`));
        return;
      }
      if (renewing) return;
      renewing = true;
      void this.lease
        .renew()
        .then((ok) => {
          if (ok || tenure.signal.aborted) return;
          this.o.logger.warn(
            { pipeline: this.o.pipeline.name, source: this.o.name, lease: this.lease.key },
            'source lease lost; stopping the run in progress',
          );
          this.endTenure(new TributaryError('TRIB_E_UNAVAILABLE', `lease ${this.lease.key} lost`));
        })
        .finally(() => (renewing = false));
    }, this.beatMs);
  }

  private endTenure(reason?: Error): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
    if (this.tenure && !this.tenure.signal.aborted) {
      this.tenure.abort(reason ?? new TributaryError('TRIB_E_UNAVAILABLE', 'lease released'));
      this.o.observe?.({ type: 'lease', held: false });
    }
  }

  private async readState(): Promise<ScheduleState> {
    const e = await this.o.cursors.get(scheduleKey(this.o.pipeline.name, this.o.name));
    if (e && e.operation === 'PUT' && e.length > 0) return e.json<ScheduleState>();
    // Stored at once: recomputing "the next cron time" on every look would always be in the future.
    const now = Date.now();
    const first: ScheduleState = { due: this.clock.first(now), failures: 0, since: now };
    await this.writeState(first);
    return first;
  }

  private async writeState(state: ScheduleState): Promise<void> {
    await this.o.cursors.put(scheduleKey(this.o.pipeline.name, this.o.name), JSON.stringify(state));
  }

  /**
   * What `ctx.healthy()` does during one run: a continuous source's run is marked successful so
   * far (no failures in a row, last success now, the run in progress as the last one), at most
   * every HEALTHY_WRITE_MS and at once when failures were counted. Returns the state as last
   * written, so the run's end record builds on it.
   */
  private healthyReporter(
    initial: ScheduleState,
    started: number,
    signal: AbortSignal,
    logger: Logger,
  ): { report: () => void; settled: () => Promise<void>; state: () => ScheduleState } {
    let state = initial;
    let writing: Promise<void> = Promise.resolve();
    let busy = false;
    let lastWrite = 0;
    const report = (): void => {
      const now = Date.now();
      if (busy || signal.aborted) return;
      if (state.failures === 0 && now - lastWrite < HEALTHY_WRITE_MS) return;
      const next: ScheduleState = {
        due: state.due,
        failures: 0,
        ...(state.since === undefined ? {} : { since: state.since }),
        lastOkAt: now,
        last: { scheduledAt: state.due, startedAt: started, finishedAt: now, outcome: 'ok' },
      };
      if (state.failures > 0) logger.info({ failuresBefore: state.failures }, 'source is streaming again; failures reset');
      busy = true;
      lastWrite = now;
      writing = this.writeState(next)
        .then(() => void (state = next))
        .catch((err: unknown) => logger.warn({ err }, 'could not record the source as healthy'))
        .finally(() => (busy = false));
    };
    return { report, settled: () => writing, state: () => state };
  }

  private async runOnce(state: ScheduleState, signal: AbortSignal): Promise<void> {
    const runId = nuid.next();
    const logger = this.o.logger.child({ run: runId });
    const started = Date.now();
    const healthy = this.healthyReporter(state, started, signal, logger);
    const ctx = this.o.context({ signal, scheduledAt: state.due, runId, logger, healthy: healthy.report });
    logger.info({ scheduledAt: new Date(state.due).toISOString(), attempt: state.failures + 1 }, 'source run started');
    let error: unknown;
    let result: PullRunResult | void = undefined;
    try {
      result = await this.o.source.run(ctx);
    } catch (err) {
      error = err;
    }
    // A health write in flight must land before the run's own record, or it would overwrite it.
    await healthy.settled();
    state = healthy.state();
    const now = Date.now();
    const seconds = (now - started) / 1000;
    if (signal.aborted) {
      // Cut short by shutdown or a lost lease: the schedule stays as it is, so whoever runs the
      // source next repeats this run from its last committed cursor, with the same scheduledAt.
      logger.info({ seconds }, 'source run aborted');
      this.o.observe?.({ type: 'run', outcome: 'aborted', seconds });
      return;
    }
    if (error === undefined) {
      const outcome = result?.partial ? 'partial' : 'ok';
      if (outcome === 'partial') logger.warn({ seconds, partial: result!.partial }, 'source run finished partially');
      else logger.info({ seconds }, 'source run finished');
      this.o.observe?.({ type: 'run', outcome, seconds });
      const next = this.clock.next(state.due, now);
      // A partial run is not retried (the same requests would answer the same); it is recorded
      // as partial, with what it left, and does not count as the source's last success.
      await this.writeState({
        due: result?.retryInMs === undefined ? next : Math.min(next, now + result.retryInMs),
        failures: 0,
        ...(state.since === undefined ? {} : { since: state.since }),
        ...(outcome === 'ok' ? { lastOkAt: now } : state.lastOkAt === undefined ? {} : { lastOkAt: state.lastOkAt }),
        last: {
          scheduledAt: state.due,
          startedAt: started,
          finishedAt: now,
          outcome,
          ...(result?.pages === undefined ? {} : { pages: result.pages }),
          ...(result?.records === undefined ? {} : { records: result.records }),
          ...(result?.partial ? { error: result.partial } : {}),
        },
      });
      return;
    }
    const failures = state.failures + 1;
    // Retried with backoff rather than at the next scheduled time: the retry resumes the same
    // run (same scheduledAt, same message IDs) from its last committed cursor.
    const retryAt = now + backoffDelay(failures, this.o.retry.initialMs, this.o.retry.maxMs);
    // Logged once here, at the boundary; the error names the request or record that failed.
    logger.error({ err: error, failures, retryAt: new Date(retryAt).toISOString() }, 'source run failed');
    this.o.observe?.({ type: 'run', outcome: 'failed', seconds });
    await this.writeState({
      due: state.due,
      failures,
      retryAt,
      ...(state.since === undefined ? {} : { since: state.since }),
      ...(state.lastOkAt === undefined ? {} : { lastOkAt: state.lastOkAt }),
      last: {
        scheduledAt: state.due,
        startedAt: started,
        finishedAt: now,
        outcome: 'failed',
        error: (error as Error)?.message ?? String(error),
      },
    });
  }
}
