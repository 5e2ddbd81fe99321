import { CONTINUOUS_PAUSE_MS, ScheduleClock } from './schedule-clock';

const T = Date.UTC(2025, 0, 1, 10, 7, 30);

describe('ScheduleClock', () => {
  it('runs an interval source at once, then `every` after the previous due time', () => {
    const c = new ScheduleClock({ every: 60_000 });
    expect(c.first(T)).toBe(T);
    expect(c.next(T, T + 5_000)).toBe(T + 60_000);
  });

  it('does not catch up missed interval runs one by one: the next run is at most now', () => {
    expect(new ScheduleClock({ every: 60_000 }).next(T, T + 600_000)).toBe(T + 600_000);
  });

  it('runs a cron source at its next fire time, in UTC unless a time zone is given', () => {
    const c = new ScheduleClock({ cron: '0 */15 * * * *' });
    expect(new Date(c.first(T)).toISOString()).toBe('2025-01-01T10:15:00.000Z');
    expect(new Date(c.next(c.first(T), c.first(T) + 1000)).toISOString()).toBe('2025-01-01T10:30:00.000Z');
    const ny = new ScheduleClock({ cron: '0 0 12 * * *', timezone: 'America/New_York' });
    expect(new Date(ny.first(T)).toISOString()).toBe('2025-01-01T17:00:00.000Z');
  });

  it('restarts a continuous source (no schedule) after a short pause', () => {
    const c = new ScheduleClock(undefined);
    expect(c.first(T)).toBe(T);
    expect(c.next(T, T + 10)).toBe(T + 10 + CONTINUOUS_PAUSE_MS);
  });

  it('rejects an invalid cron expression with TRIB_E_SPEC', () => {
    expect(() => new ScheduleClock({ cron: 'every tuesday' })).toThrow(expect.objectContaining({ code: 'TRIB_E_SPEC' }));
  });
});
