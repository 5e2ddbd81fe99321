/**
 * A fan-out child that fails (one venue's endpoint answers 404) against a real NATS and the local
 * fake APIs: with `on_malformed: dead_letter` it is dead-lettered once and then left alone for
 * `parents.skip_failed_for`, while the other venues are read every run.
 */
import { FakeApis, FAKE_VENUES, stopAll } from '@tributary/testkit';
import type { Pipeline } from '@tributary/contract/spec';
import { create } from '../src/sources/rest';
import { PullHarness } from './pull-harness';

afterAll(stopAll);

describe('a failing fan-out child', () => {
  let h: PullHarness;
  let fake: FakeApis;

  beforeAll(async () => {
    [h, fake] = await Promise.all([PullHarness.start(), new FakeApis({ events: 30 }).start()]);
  });
  afterAll(async () => {
    await fake.stop();
    await h.close();
  });

  const run = (p: Pipeline, source: string) =>
    h.runOnce(
      create.pull(p.sources[source] as never, { pipeline: p, name: source, ingestor: undefined as never, logger: h.logger }),
      p,
      source,
    );

  it('is dead-lettered once per key and period, not every run, while the other parents are read every run', async () => {
    const broken = FAKE_VENUES[0].id;
    process.env.FANOUT_KEY = 'k';
    const p = h.pipeline(`
pipeline: fanout_failures
connections:
  api: { kind: http, base_url: "${fake.url}", auth: { type: api_key, in: query, name: appid, secret: env:FANOUT_KEY } }
sources:
  events:
    kind: rest
    connection: api
    request: { path: /discovery/v2/events.json, query: { size: 100 } }
    records: _embedded.events
  current:
    kind: rest
    connection: api
    on_malformed: dead_letter
    parents:
      from: events
      # One venue's request goes to an endpoint the API does not have.
      select: "_embedded.venues[0].{ 'id': id, 'lat': location.latitude, 'lon': location.longitude, 'path': id = '${broken}' ? 'nothing' : 'weather' }"
      key: id
      skip_failed_for: 1h
    request: { path: "/data/2.5/{{ parent.path }}", query: { lat: "{{ parent.lat }}", lon: "{{ parent.lon }}" } }
    add_fields: { venue_id: "{{ parent.id }}" }
datasets:
  out: { from: [events, current], fields: { id: string } }
`);
    await run(p, 'events');
    for (let i = 0; i < 3; i++) await run(p, 'current');
    const dead = await h.env.deadLetters(p.name, 'current');
    expect(dead).toHaveLength(1);
    expect(JSON.stringify(dead[0])).toContain('404');
    expect(fake.requestsTo('/data/2.5/nothing')).toHaveLength(1);
    // Every other venue was read in each of the three runs.
    expect(fake.requestsTo('/data/2.5/weather')).toHaveLength(3 * (FAKE_VENUES.length - 1));
  });
});
