/**
 * The events warehouse end to end (pipelines/events_weather.yaml): the REST sources pull
 * Ticketmaster events and OpenWeatherMap weather from the local fake APIs, and the warehouse
 * fills in: dim_event and dim_venue (type 2), the accumulating fact_event_lifecycle, and
 * fact_event_weather carrying the surrogate keys of the current dimension versions. A changed
 * event (cancelled) opens a new dim_event version and fills the lifecycle's cancelled milestone,
 * while the unchanged events polled again and again stay at one version.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FakeApis, FAKE_VENUES, waitFor } from '@tributary/testkit';
import { Stack } from './stack';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
let fake: FakeApis;
let stack: Stack;
let dir: string;

const apiEnv = (): Record<string, string> => ({
  TICKETMASTER_BASE_URL: `${fake.url}/discovery/v2`,
  TICKETMASTER_API_KEY: 'k',
  OPENWEATHER_BASE_URL: fake.url,
  OPENWEATHER_API_KEY: 'k',
});

beforeAll(async () => {
  fake = await new FakeApis({ apiKey: 'k', events: 24, pastDays: 10, futureDays: 20 }).start();
  // The shipped pipeline, with Ticketmaster polled every 5 s instead of every 15 minutes.
  dir = mkdtempSync(path.join(tmpdir(), 'events-warehouse-'));
  cpSync(path.join(ROOT, 'pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
  cpSync(path.join(ROOT, 'pipelines/connections.yaml'), path.join(dir, 'connections.yaml'));
  const spec = readFileSync(path.join(ROOT, 'pipelines/events_weather.yaml'), 'utf8');
  const fast = spec.replace(/(tm_events:\n\s+kind: rest\n\s+connection: ticketmaster\n\s+schedule: )\{ every: 15m \}/, '$1{ every: 5s }');
  expect(fast).not.toBe(spec);
  writeFileSync(path.join(dir, 'events_weather.yaml'), fast);
  stack = await Stack.start({ pipelines: path.join(dir, 'events_weather.yaml'), env: apiEnv() });
});
afterAll(async () => {
  await stack?.stopAll();
  await fake?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const events = () => fake.allEvents as readonly { id: string; dates: { start: { dateTime: string }; status: { code: string } } }[];

describe('pipelines/events_weather.yaml through the whole stack', () => {
  it('builds the event and venue dimensions, the lifecycle snapshot and the weather facts from the APIs', async () => {
    const past = events().filter((e) => Date.parse(e.dates.start.dateTime) < Date.now());
    expect(past.length).toBeGreaterThan(0);
    await waitFor(
      async () => {
        const [r] = await stack.query(`SELECT
            (SELECT count(*) FROM warehouse.dim_event WHERE is_current)::int AS events,
            (SELECT count(*) FROM warehouse.dim_venue WHERE is_current)::int AS venues,
            (SELECT count(*) FROM warehouse.fact_event_lifecycle WHERE weather_recorded_at IS NOT NULL)::int AS with_weather,
            (SELECT count(*) FROM warehouse.fact_event_weather)::int AS weather`);
        return (
          r?.events === events().length && r?.venues === FAKE_VENUES.length && r?.with_weather === past.length && r?.weather === past.length
        );
      },
      { timeoutMs: 180_000, intervalMs: 1_000, what: 'events, venues, lifecycle milestones and weather facts loaded' },
    );

    // One version per event and venue so far, however often the same venue came with an event.
    const [versions] = await stack.query(
      `SELECT (SELECT count(*) FROM warehouse.dim_event)::int AS events, (SELECT count(*) FROM warehouse.dim_venue)::int AS venues`,
    );
    expect(versions).toEqual({ events: events().length, venues: FAKE_VENUES.length });

    // Lifecycle: one row per event, its start and first sighting, the weather milestone only for past events.
    const lifecycle = await stack.query(
      `SELECT event_id, starts_at, first_seen_at, status, weather_recorded_at, temp_at_start_c, event_sk FROM warehouse.fact_event_lifecycle ORDER BY event_id`,
    );
    expect(lifecycle.map((r) => r.event_id)).toEqual(
      events()
        .map((e) => e.id)
        .sort(),
    );
    for (const row of lifecycle) {
      const ev = events().find((e) => e.id === row.event_id)!;
      expect(new Date(row.starts_at).toISOString()).toBe(new Date(ev.dates.start.dateTime).toISOString());
      expect(row.first_seen_at).not.toBeNull();
      expect(row.status).toBe('onsale');
      expect(row.weather_recorded_at !== null).toBe(Date.parse(ev.dates.start.dateTime) < Date.now());
      expect(row.event_sk).not.toBeNull();
    }

    // Facts carry the surrogate keys of the current versions of their event and venue.
    const [mismatch] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.fact_event_weather f
        LEFT JOIN warehouse.dim_event e ON e.dim_event_sk = f.event_sk AND e.event_id = f.event_id AND e.is_current
        LEFT JOIN warehouse.dim_venue v ON v.dim_venue_sk = f.venue_sk AND v.venue_id = f.venue_id AND v.is_current
        WHERE e.event_id IS NULL OR v.venue_id IS NULL`);
    expect(mismatch!.n).toBe(0);
  });

  it('opens a new dim_event version and fills the cancelled milestone when an upcoming event is cancelled', async () => {
    const upcoming = events().find((e) => Date.parse(e.dates.start.dateTime) > Date.now() + 86_400_000)!;
    const [before] = await stack.query(`SELECT dim_event_sk AS sk FROM warehouse.dim_event WHERE event_id = $1 AND is_current`, [
      upcoming.id,
    ]);
    // The fake API now answers with the event cancelled; the next poll (every 5 s here) brings it.
    upcoming.dates.status.code = 'cancelled';
    await waitFor(
      async () => {
        const [r] = await stack.query(`SELECT cancelled_at FROM warehouse.fact_event_lifecycle WHERE event_id = $1`, [upcoming.id]);
        return r?.cancelled_at !== null && r?.cancelled_at !== undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1_000, what: 'the cancellation reaching the lifecycle snapshot' },
    );
    const versions = await stack.query(
      `SELECT dim_event_sk AS sk, status, is_current, valid_to = 'infinity' AS open FROM warehouse.dim_event WHERE event_id = $1 ORDER BY valid_from`,
      [upcoming.id],
    );
    expect(versions.map((v) => [v.status, v.is_current, v.open])).toEqual([
      ['onsale', false, false],
      ['cancelled', true, true],
    ]);
    expect(versions[0]!.sk).toBe(before!.sk);
    expect(versions[1]!.sk).not.toBe(before!.sk);
    // Unchanged events stayed at one version each.
    const [others] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.dim_event WHERE event_id <> $1`, [upcoming.id]);
    expect(others!.n).toBe(events().length - 1);
  });
});
