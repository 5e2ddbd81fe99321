/**
 * When the next run of a pull source is due, from its `schedule`: an interval, a cron expression
 * (croner), or continuously.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type PullScheduleSpec } from '@tributary/contract/spec';
import { Cron } from 'croner';

/** Pause between two runs of a continuous source (no `schedule`), so a source that returns at once does not spin. */
export const CONTINUOUS_PAUSE_MS = 1000;

/** Computes due times for one schedule. */
export class ScheduleClock {
  private readonly cron?: Cron;

  /** Throws TRIB_E_SPEC for an invalid cron expression or time zone. */
  constructor(private readonly schedule: PullScheduleSpec | undefined) {
    if (schedule && 'cron' in schedule) {
      try {
        // paused: croner only computes dates here; our loop owns the timing (and the lease).
        this.cron = new Cron(schedule.cron, { paused: true, timezone: schedule.timezone ?? 'Etc/UTC' });
      } catch (err) {
        throw new TributaryError('TRIB_E_SPEC', `invalid schedule cron "${schedule.cron}": ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Due time of the very first run: now for intervals and continuous sources, the next cron time otherwise. */
  first(now: number): number {
    return this.cron ? this.cronAfter(now) : now;
  }

  /**
   * Due time of the run after one due at `scheduledAt` that finished at `now`. Runs missed while a
   * run took long (or no replica held the lease) are not caught up one by one: the next is at most now.
   */
  next(scheduledAt: number, now: number): number {
    if (this.cron) return this.cronAfter(Math.max(scheduledAt, now));
    if (!this.schedule) return now + CONTINUOUS_PAUSE_MS;
    return Math.max(now, scheduledAt + (this.schedule as { every: number }).every);
  }

  private cronAfter(t: number): number {
    const d = this.cron!.nextRun(new Date(t));
    if (!d) throw new TributaryError('TRIB_E_SPEC', 'cron schedule has no future run');
    return d.getTime();
  }
}
