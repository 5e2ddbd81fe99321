import { httpConnectionSpec } from '../connections';
import { restSourceSpec } from './rest';
import { pullScheduleSpec } from '../schedule';

describe('rest source spec', () => {
  it('fills defaults: every 15 minutes, whole body as records, no pagination, 5 tries, fail on malformed', () => {
    const s = restSourceSpec.parse({ kind: 'rest', connection: 'api', request: { path: '/x' } });
    expect(s).toMatchObject({
      schedule: { every: 900_000 },
      records: '$',
      pagination: { type: 'none' },
      retry: { attempts: 5, initial: 1000, max: 60_000 },
      on_malformed: 'fail',
      request: { method: 'GET', query: {}, headers: {} },
      add_fields: {},
    });
  });

  it('parses durations of windows, retries and parents into milliseconds', () => {
    const s = restSourceSpec.parse({
      kind: 'rest',
      connection: 'api',
      request: { path: '/x' },
      incremental: { start: '30d', step: '7d', lookback: '1h' },
      parents: { from: 'events', key: 'id', since: '2d' },
      retry: { initial: '250ms', max: '10s' },
      pagination: { type: 'page_number', start: 0, size: 100 },
    });
    expect(s.incremental).toMatchObject({ step: 7 * 86_400_000, lookback: 3_600_000, end: 0, format: 'iso' });
    expect(s.parents).toMatchObject({ since: 2 * 86_400_000, max: 1000 });
    expect(s.retry).toEqual({ attempts: 5, initial: 250, max: 10_000 });
    expect(s.pagination).toMatchObject({ type: 'page_number', param: 'page', max_pages: 100, on_max_pages: 'split' });
  });

  it('rejects unknown keys and unknown pagination types', () => {
    expect(restSourceSpec.safeParse({ kind: 'rest', connection: 'api', request: { path: '/x' }, pagnation: {} }).success).toBe(false);
    expect(
      restSourceSpec.safeParse({ kind: 'rest', connection: 'api', request: { path: '/x' }, pagination: { type: 'pages' } }).success,
    ).toBe(false);
  });

  it('takes a schedule as an interval or a cron expression, not both', () => {
    expect(pullScheduleSpec.parse({ every: '5m' })).toEqual({ every: 300_000 });
    expect(pullScheduleSpec.parse({ cron: '0 * * * *', timezone: 'Europe/Oslo' })).toEqual({ cron: '0 * * * *', timezone: 'Europe/Oslo' });
    expect(pullScheduleSpec.safeParse({ every: '5m', cron: '0 * * * *' }).success).toBe(false);
  });

  it('gives an http connection an optional request budget', () => {
    const c = httpConnectionSpec.parse({ kind: 'http', base_url: 'https://api.example.com', budget: { requests: 60, per: '1m' } });
    expect(c.budget).toEqual({ requests: 60, per: 60_000, margin: 0 });
  });
});
