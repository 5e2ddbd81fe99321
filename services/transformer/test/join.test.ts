/**
 * The `join` step against a real nats-server (its state in the `trib_join` KV bucket): partners
 * arriving in either order, two replicas racing on the same keys, a restart between a record and
 * its partner, redelivery, and timeouts to each outcome (the clock is passed in, so no test waits
 * for it). The last test runs two transformer apps on the pipeline's consumer, restarts one, and
 * lets the app's sweeper time a record out.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS, H, makeHeaders, STREAMS, subjects } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { NDJSON, type Rec } from '@tributary/contract/codec';
import { createLogger } from '@tributary/runtime/logger';
import { DEFAULT_TOPOLOGY, ensureBuckets, ensureConsumers, ensureStreams, pipelineConsumers } from '@tributary/runtime/nats';
import { NatsServer, stopAll, waitFor } from '@tributary/testkit';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { PipelineRunner, type DatasetResult } from '../src/pipeline-runner';

jest.setTimeout(120_000);

const spec = (name: string, onTimeout: string, wait = '10m') => `
pipeline: ${name}
sources:
  events_in: { kind: push }
  weather_in: { kind: push }
datasets:
  events:
    from: events_in
    fields: { event_id: { type: string, required: true }, venue_id: string, starts_at: timestamp }
  weather:
    from: weather_in
    fields: { venue_id: string, observed_at: timestamp, temp_c: number }
  event_weather:
    from: [events, weather]
    fields:
      event_id: { type: string, required: true }
      venue_id: string
      starts_at: timestamp
      temp_c: number
      weather_at: timestamp
    steps:
      - join:
          with: weather
          on: { venue_id: venue_id }
          time: starts_at
          partner_time: observed_at
          within: 30m
          fields: { temp_c: temp_c, weather_at: observed_at }
          wait: ${wait}
          on_timeout: ${onTimeout}
      - map: { temp_c: "$type(temp_c) = 'number' ? $round(temp_c, 1) : null" }
`;

const T0 = Date.UTC(2026, 5, 1, 18, 0, 0);
const at = (min: number): string => new Date(T0 + min * 60_000).toISOString();
const ev = (id: string, venue: string, min: number): Rec => ({ event_id: id, venue_id: venue, starts_at: at(min) });
const wx = (venue: string, min: number, temp: number): Rec => ({ venue_id: venue, observed_at: at(min), temp_c: temp });
const silent = createLogger('test', 'silent');

let nats: NatsServer;
let nc: NatsConnection;
let dir: string;

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  dir = mkdtempSync(path.join(os.tmpdir(), 'trib-join-'));
});

afterAll(async () => {
  await nc?.close();
  await stopAll();
});

function pipelineOf(name: string, onTimeout = 'emit', wait = '10m'): Pipeline {
  writeFileSync(path.join(dir, `${name}.yaml`), spec(name, onTimeout, wait));
  return loadPipelineFile(path.join(dir, `${name}.yaml`));
}

/** A transformer replica: its own NATS connection, so it shares nothing with others but the server. */
async function replica(p: Pipeline): Promise<{ runner: PipelineRunner; close(): Promise<void> }> {
  const conn = await connect({ servers: nats.url });
  const runner = new PipelineRunner(p, 'a-test-hmac-key-of-16+');
  await runner.open({ join: await new Kvm(conn).open(BUCKETS.join) });
  return { runner, close: () => conn.close() };
}

const joinedOf = (results: DatasetResult[]): DatasetResult => results.find((r) => r.dataset === 'event_weather')!;

describe('join on JetStream KV', () => {
  it('joins a record with the nearest partner already held, and a waiting record with the first partner to arrive', async () => {
    const p = pipelineOf('order_both');
    const { runner, close } = await replica(p);
    try {
      // Partners first: the event at 18:10 takes the observation at 18:15 (nearer than 17:50).
      expect(joinedOf(await runner.run('weather_in', [wx('v1', -10, 20), wx('v1', 15, 22)], 'w-1')).records).toEqual([]);
      const first = joinedOf(await runner.run('events_in', [ev('e1', 'v1', 10)], 'e-1'));
      expect(first.records).toEqual([{ event_id: 'e1', venue_id: 'v1', starts_at: at(10), temp_c: 22, weather_at: at(15) }]);
      // Record first: it waits (no output), and the partner's batch carries it out.
      expect(joinedOf(await runner.run('events_in', [ev('e2', 'v2', 0)], 'e-2')).records).toEqual([]);
      // A partner outside the bound (45 minutes later) does not take it.
      const far = joinedOf(await runner.run('weather_in', [wx('v2', 45, 30)], 'w-2'));
      expect(far.records).toEqual([]);
      expect(far.filtered).toBe(1); // partners leave the join dataset, counted as filtered
      const near = joinedOf(await runner.run('weather_in', [wx('v2', -20, 18.04)], 'w-3'));
      expect(near.records).toEqual([{ event_id: 'e2', venue_id: 'v2', starts_at: at(0), temp_c: 18, weather_at: at(-20) }]);
      // Nothing is left waiting: a far-future clock releases nothing.
      expect(await runner.release(Date.now() + 86_400_000)).toEqual([]);
    } finally {
      await close();
    }
  });

  it('gives a joined record the older source time of the record and its partner, and a timed-out one its own', async () => {
    const p = pipelineOf('source_time');
    const { runner, close } = await replica(p);
    const [older, newer, newest] = ['2026-06-01T17:00:00.000001Z', '2026-06-01T17:30:00.000002Z', '2026-06-01T18:00:00.000003Z'];
    try {
      // A partner held with an older source time: the record arriving later takes the partner's time.
      await runner.run('weather_in', [wx('v1', 0, 20)], 'w-1', { sourceTime: older });
      const late = joinedOf(await runner.run('events_in', [ev('e1', 'v1', 5)], 'e-1', { sourceTime: newest }));
      expect(late.records.map((r) => r.event_id)).toEqual(['e1']);
      expect(late.sourceTime).toBe(older);
      // A record waiting with an older time, taken out by a newer partner: the record's time wins.
      expect(joinedOf(await runner.run('events_in', [ev('e2', 'v2', 0)], 'e-2', { sourceTime: older })).records).toEqual([]);
      const taken = joinedOf(await runner.run('weather_in', [wx('v2', 1, 18)], 'w-2', { sourceTime: newest }));
      expect(taken.records.map((r) => r.event_id)).toEqual(['e2']);
      expect(taken.sourceTime).toBe(older);
      // Nothing joined: the batch keeps its own time; a record released by the clock keeps its own.
      expect(joinedOf(await runner.run('events_in', [ev('e3', 'v3', 0)], 'e-3', { sourceTime: newer })).sourceTime).toBe(newer);
      const [released] = await runner.release(Date.now() + 86_400_000);
      expect(released!.results.find((r) => r.dataset === 'event_weather')).toMatchObject({ sourceTime: newer });
    } finally {
      await close();
    }
  });

  it('gives a redelivered message the same outputs, and does not join its records again', async () => {
    const p = pipelineOf('redelivery');
    const { runner, close } = await replica(p);
    try {
      await runner.run('events_in', [ev('r1', 'v1', 0), ev('r2', 'v1', 5)], 'e-1');
      const once = joinedOf(await runner.run('weather_in', [wx('v1', 1, 10)], 'w-1'));
      expect(once.records.map((r) => r.event_id)).toEqual(['r1', 'r2']);
      // The partner's message again (a crash before its ack), then the events' message again.
      expect(joinedOf(await runner.run('weather_in', [wx('v1', 1, 10)], 'w-1')).records).toEqual(once.records);
      expect(joinedOf(await runner.run('events_in', [ev('r1', 'v1', 0), ev('r2', 'v1', 5)], 'e-1')).records).toEqual([]);
      // A new event still finds the partner, once.
      expect(joinedOf(await runner.run('events_in', [ev('r3', 'v1', 2)], 'e-2')).records.map((r) => r.event_id)).toEqual(['r3']);
    } finally {
      await close();
    }
  });

  it('joins every record exactly once when two replicas take records and partners of the same keys at the same time', async () => {
    const p = pipelineOf('race');
    const [a, b] = [await replica(p), await replica(p)];
    try {
      // 40 venues, 5 events each, one observation per event within the bound; sent in 60 small
      // messages alternating between the replicas, events and partners interleaved at random.
      let seed = 7;
      const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const msgs: { source: string; recs: Rec[] }[] = [];
      const want = new Map<string, number>();
      for (let v = 0; v < 40; v++) {
        for (let e = 0; e < 5; e++) {
          const min = e * 120; // two hours apart: each event has exactly one partner in range
          const id = `v${v}-e${e}`;
          want.set(id, v * 100 + e);
          msgs.push({ source: 'events_in', recs: [ev(id, `v${v}`, min)] });
          msgs.push({ source: 'weather_in', recs: [wx(`v${v}`, min + Math.floor(rand() * 50) - 25, v * 100 + e)] });
        }
      }
      msgs.sort(() => rand() - 0.5);
      const batches: { source: string; recs: Rec[] }[] = [];
      for (const m of msgs) {
        const last = batches.at(-1);
        if (last && last.source === m.source && last.recs.length < 7) last.recs.push(...m.recs);
        else batches.push({ source: m.source, recs: [...m.recs] });
      }
      const outs = await Promise.all(batches.map((m, i) => (i % 2 === 0 ? a : b).runner.run(m.source, m.recs, `m-${i}`).then(joinedOf)));
      const got = outs.flatMap((o) => o.records);
      expect(got).toHaveLength(want.size);
      for (const r of got) expect(r.temp_c).toBe(want.get(r.event_id as string));
      expect(new Set(got.map((r) => r.event_id)).size).toBe(want.size);
      expect(await a.runner.release(Date.now() + 86_400_000)).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('matches a record held before a restart with a partner that arrives after it', async () => {
    const p = pipelineOf('restart');
    const before = await replica(p);
    expect(joinedOf(await before.runner.run('events_in', [ev('s1', 'v9', 0)], 'e-1')).records).toEqual([]);
    await before.close();
    const after = await replica(p);
    try {
      const out = joinedOf(await after.runner.run('weather_in', [wx('v9', 10, 12)], 'w-1'));
      expect(out.records.map((r) => r.event_id)).toEqual(['s1']);
    } finally {
      await after.close();
    }
  });

  it.each([
    ['emit', { records: 1, filtered: 0, dead: 0 }],
    ['drop', { records: 0, filtered: 1, dead: 0 }],
    ['dead_letter', { records: 0, filtered: 0, dead: 1 }],
  ])('times out a record without a partner to on_timeout: %s, once, and a late partner no longer takes it', async (outcome, want) => {
    const p = pipelineOf(`timeout_${outcome}`, outcome, '1h');
    const [a, b] = [await replica(p), await replica(p)];
    try {
      await a.runner.run('events_in', [ev('t1', 'v1', 0), ev('t2', 'v2', 0)], 'e-1');
      expect(await a.runner.release(Date.now())).toEqual([]); // not an hour yet
      await a.runner.run('weather_in', [wx('v2', 0, 9)], 'w-1'); // t2 finds its partner in time
      // Both replicas' clocks pass the hour at once: t1 is released once, under one ID.
      const later = Date.now() + 3_600_001;
      const [ra, rb] = await Promise.all([a.runner.release(later), b.runner.release(later)]);
      const runs = [...ra, ...rb];
      expect(new Set(runs.map((r) => r.id))).toEqual(new Set([`join-timeout:timeout_${outcome}/event_weather.0:e-1#0`]));
      const res = runs[0]!.results.find((r) => r.dataset === 'event_weather')!;
      expect({ records: res.records.length, filtered: res.filtered, dead: res.failures.length }).toEqual(want);
      if (outcome === 'emit') expect(res.records[0]).toMatchObject({ event_id: 't1', temp_c: null, weather_at: null });
      if (outcome === 'dead_letter') expect(res.failures[0]!.error.message).toMatch(/no partner from "weather" within 3600000 ms/);
      // Unconfirmed (the publish may have failed): released again, same ID. Confirmed: gone.
      expect((await a.runner.release(later)).map((r) => r.id)).toEqual([runs[0]!.id]);
      await Promise.all(runs.map((r) => r.confirm()));
      expect(await a.runner.release(later)).toEqual([]);
      expect(joinedOf(await a.runner.run('weather_in', [wx('v1', 5, 1)], 'w-2')).records).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('dead-letters a record without its key or time, naming the field', async () => {
    const p = pipelineOf('bad_input');
    const { runner, close } = await replica(p);
    try {
      const out = joinedOf(
        await runner.run(
          'events_in',
          [
            { event_id: 'x', starts_at: at(0) },
            { event_id: 'y', venue_id: 'v1' },
          ],
          'e-1',
        ),
      );
      expect(out.failures.map((f) => [f.index, f.error.code, f.error.location?.field])).toEqual([
        [0, 'TRIB_E_VALIDATION', 'venue_id'],
        [1, 'TRIB_E_VALIDATION', 'starts_at'],
      ]);
    } finally {
      await close();
    }
  });
});

describe('join in the transformer app', () => {
  it('joins across two transformer instances and a restart, and the sweeper times out a record left alone', async () => {
    const p = pipelineOf('app_join', 'emit', '1s');
    // The JetStream half of `migrate` (no warehouse needed: this test reads the processed stream).
    const topology = { ...DEFAULT_TOPOLOGY, ackWaitMs: 2_000 };
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, topology);
    await ensureConsumers(jsm, pipelineConsumers(p), topology);
    const env = {
      NATS_URL: nats.url,
      LOG_LEVEL: 'silent',
      HOST: '127.0.0.1',
      TRANSFORMER_PORT: '0',
      TRANSFORMER_BATCH_MESSAGES: '2',
      TRANSFORMER_SWEEP_INTERVAL: '200ms',
    };
    const js = jetstream(nc);
    const send = (source: string, id: string, recs: Rec[]) =>
      js.publish(subjects.raw('app_join', source), Buffer.from(recs.map((r) => JSON.stringify(r)).join('\n')), {
        msgID: id,
        headers: makeHeaders({
          [H.pipeline]: 'app_join',
          [H.source]: source,
          [H.count]: recs.length,
          [H.contentType]: NDJSON,
          [H.ingestedAt]: Date.now(),
        }),
      });
    const a = createApp(loadConfig(env), { pipelines: [p], logger: silent });
    let b = createApp(loadConfig(env), { pipelines: [p], logger: silent });
    await Promise.all([a.start(), b.start()]);
    try {
      // Events first for v1..v10, partners first for v11..v20; spread over both instances.
      for (let v = 1; v <= 10; v++) await send('events_in', `e-${v}`, [ev(`a${v}`, `v${v}`, 0)]);
      for (let v = 11; v <= 20; v++) await send('weather_in', `w-${v}`, [wx(`v${v}`, 0, v)]);
      await waitFor(async () => ((await joinedRecords(nc, 'app_join')).length === 0 ? pendingZero(nc, 'app_join') : false), {
        timeoutMs: 60_000,
        what: 'the first messages transformed',
      });
      // Restart one instance, then send the other halves.
      await b.stop();
      b = createApp(loadConfig(env), { pipelines: [p], logger: silent });
      await b.start();
      for (let v = 1; v <= 10; v++) await send('weather_in', `w-${v}`, [wx(`v${v}`, 3, v)]);
      for (let v = 11; v <= 20; v++) await send('events_in', `e-${v}`, [ev(`a${v}`, `v${v}`, 0)]);
      // And one event nobody answers: the sweeper emits it with nulls after its one-second wait.
      await send('events_in', 'e-lonely', [ev('lonely', 'v99', 0)]);
      const got = await waitFor(
        async () => {
          const recs = await joinedRecords(nc, 'app_join');
          return recs.length >= 21 ? recs : undefined;
        },
        { timeoutMs: 60_000, what: '20 joined events and one timed out' },
      );
      expect(got).toHaveLength(21);
      for (let v = 1; v <= 20; v++) expect(got.find((r) => r.event_id === `a${v}`)).toMatchObject({ temp_c: v });
      expect(got.find((r) => r.event_id === 'lonely')).toMatchObject({ temp_c: null, weather_at: null });
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

/** Whether the transformer consumer has nothing pending or unacked. */
async function pendingZero(conn: NatsConnection, pipeline: string): Promise<boolean> {
  const info = await (await jetstreamManager(conn)).consumers.info(STREAMS.raw, `transformer-${pipeline}`);
  return info.num_pending + info.num_ack_pending === 0;
}

/** Every joined record published on the join dataset's subject (each message once: JetStream dropped repeated IDs). */
async function joinedRecords(conn: NatsConnection, pipeline: string): Promise<Rec[]> {
  const jsm = await jetstreamManager(conn);
  const subject = subjects.processed(pipeline, 'event_weather');
  const c = await jsm.consumers.add(STREAMS.processed, {
    filter_subject: subject,
    ack_policy: AckPolicy.None,
    inactive_threshold: 10_000_000_000,
  });
  const total = c.num_pending;
  const out: Rec[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(conn).consumers.get(STREAMS.processed, c.name);
  let seen = 0;
  for await (const m of await consumer.fetch({ max_messages: total, expires: 5_000 })) {
    for (const line of Buffer.from(m.data).toString('utf8').split('\n').filter(Boolean)) out.push(JSON.parse(line) as Rec);
    if (++seen === total) break;
  }
  await jsm.consumers.delete(STREAMS.processed, c.name).catch(() => undefined);
  return out;
}
