/**
 * The shipped manifests (pipelines/events_weather.yaml: Ticketmaster + OpenWeatherMap;
 * pipelines/forecast.yaml: Tomorrow.io) run against the local fake APIs through their
 * `base_url_env` overrides: every source delivers records that pass its schema, and each dataset's
 * `map` expressions find their fields in those records.
 */
import path from 'node:path';
import jsonata from 'jsonata';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { FakeApis, FAKE_VENUES, stopAll } from '@tributary/testkit';
import { create } from '../src/sources/rest';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

const PIPELINES = path.resolve(__dirname, '../../../pipelines');

describe('API manifests against the fake APIs', () => {
  let h: PullHarness;
  let fake: FakeApis;
  let events: Pipeline;
  let forecast: Pipeline;

  beforeAll(async () => {
    [h, fake] = await Promise.all([PullHarness.start(), new FakeApis({ apiKey: 'k', events: 40, pastDays: 29, futureDays: 59 }).start()]);
    for (const v of ['TICKETMASTER', 'OPENWEATHER', 'TOMORROW']) {
      process.env[`${v}_BASE_URL`] = v === 'TICKETMASTER' ? `${fake.url}/discovery/v2` : fake.url;
      process.env[`${v}_API_KEY`] = 'k';
    }
    events = loadPipelineFile(path.join(PIPELINES, 'events_weather.yaml'));
    forecast = loadPipelineFile(path.join(PIPELINES, 'forecast.yaml'));
  });
  afterAll(async () => {
    for (const v of ['TICKETMASTER', 'OPENWEATHER', 'TOMORROW']) {
      delete process.env[`${v}_BASE_URL`];
      delete process.env[`${v}_API_KEY`];
    }
    await fake.stop();
    await h.close();
  });

  const run = (p: Pipeline, source: string) =>
    h.runOnce(
      create.pull(p.sources[source] as never, { pipeline: p, name: source, ingestor: undefined as never, logger: h.logger }),
      p,
      source,
    );
  const records = async (p: Pipeline, source: string): Promise<Rec[]> => (await h.env.raw(p.name, source)).flatMap((m) => m.records);

  /** Applies a dataset's map steps to `rec` the way the transformer does (each sees the input record). */
  async function mapped(p: Pipeline, dataset: string, rec: Rec): Promise<Rec> {
    const ds = p.datasets.find((d) => d.name === dataset)!;
    let out: Rec = { ...rec };
    for (const step of ds.steps) {
      if (step.kind !== 'map') continue;
      const next: Rec = { ...out };
      for (const [field, expr] of Object.entries(step.config as Record<string, string>)) next[field] = await jsonata(expr).evaluate(out);
      out = next;
    }
    return Object.fromEntries(ds.fields.map((f) => [f.name, out[f.name]]));
  }

  it('events_weather: events, current weather and forecast per venue, history per past event; all pass their schemas', async () => {
    for (const s of ['tm_events', 'owm_current', 'owm_forecast', 'owm_history']) await run(events, s);
    expect((await records(events, 'tm_events')).length).toBe(40);
    expect((await records(events, 'owm_current')).map((r) => r.venue_id).sort()).toEqual(FAKE_VENUES.map((v) => v.id).sort());
    expect((await records(events, 'owm_forecast')).length).toBe(FAKE_VENUES.length * 40);
    const past = fake.allEvents.filter((e) => Date.parse((e.dates as { start: { dateTime: string } }).start.dateTime) < Date.now());
    expect((await records(events, 'owm_history')).length).toBe(past.length);
    for (const s of ['tm_events', 'owm_current', 'owm_forecast', 'owm_history'])
      expect(await h.env.deadLetters(events.name, s)).toEqual([]);

    const [ev] = await records(events, 'tm_events');
    expect(await mapped(events, 'events', ev!)).toEqual(
      expect.objectContaining({
        event_id: ev!.id,
        venue_id: expect.any(String),
        latitude: expect.any(Number),
        price_min: expect.any(Number),
      }),
    );
    const [cur] = await records(events, 'owm_current');
    expect(await mapped(events, 'venue_weather', cur!)).toEqual(
      expect.objectContaining({ observed_at: expect.any(String), temp_c: expect.any(Number) }),
    );
    const [step] = await records(events, 'owm_forecast');
    expect(await mapped(events, 'venue_forecast', step!)).toEqual(
      expect.objectContaining({ forecast_for: expect.any(String), precipitation_probability: expect.any(Number) }),
    );
    const [hist] = await records(events, 'owm_history');
    expect(await mapped(events, 'event_weather', hist!)).toEqual(
      expect.objectContaining({ event_id: expect.any(String), temp_c: expect.any(Number) }),
    );
  });

  it('forecast: 120 hourly and 6 daily Tomorrow.io steps for Des Moines, with time and location', async () => {
    await run(forecast, 'hourly');
    await run(forecast, 'daily');
    const hourly = await records(forecast, 'hourly');
    const daily = await records(forecast, 'daily');
    expect(hourly).toHaveLength(120);
    expect(daily).toHaveLength(6);
    expect(await mapped(forecast, 'hourly_forecast', hourly[0]!)).toEqual(
      expect.objectContaining({ location: '41.5868,-93.625', forecast_for: expect.any(String), temperature_c: expect.any(Number) }),
    );
    expect(await mapped(forecast, 'daily_forecast', daily[0]!)).toEqual(
      expect.objectContaining({ day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/), sunrise_at: expect.any(String) }),
    );
    expect(fake.requestsTo('/v4/weather/forecast').every((r) => r.query.apikey === 'k')).toBe(true);
  });
});
