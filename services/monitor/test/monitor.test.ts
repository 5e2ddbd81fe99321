/**
 * The monitor against a real nats-server and PostgreSQL: messages published with the documented
 * headers are folded into durable counts, reported exactly by /api and /metrics, counted once per
 * message ID, and survive a restart of the monitor and of NATS.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { connectNats, DEFAULT_TOPOLOGY, publishDeadLetter, Publisher, type DeadLetter } from '@tributary/runtime/nats';
import { createLogger } from '@tributary/runtime/logger';
import { encodeNdjson, NDJSON } from '@tributary/contract/codec';
import { H, makeHeaders, subjects, type Stage } from '@tributary/contract/wire';
import { loadPipelines } from '@tributary/contract/spec';
import { migrate } from '@tributary/cli';
import { NatsServer, PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { createApp, type MonitorApp } from '../src/app';
import { loadConfig, type MonitorConfig } from '../src/config';

jest.setTimeout(60_000);

const PIPELINE = 'tolls';
const DB = 'monitor_test';
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const logger = createLogger('monitor-test', process.env.TEST_LOG_LEVEL ?? 'silent');

let nats: NatsServer;
let pg: PostgresServer;
let dir: string;
let config: MonitorConfig;
let nc: NatsConnection;
let publisher: Publisher;
let app: MonitorApp | undefined;
let port: number;

/** GET as JSON with a fresh socket (no keep-alive pool left open after the tests). */
function getJson(urlPath: string): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body, text });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

type Lag = { pending: number | null; ack_pending: number | null };

/** /api/pipelines once the monitor has folded every message in the three streams. */
async function settled(): Promise<any> {
  return waitFor(
    async () => {
      const r = await getJson('/api/pipelines');
      const lags = Object.values(r.body?.monitor_lag ?? {}) as Lag[];
      return r.status === 200 && lags.length === 3 && lags.every((l) => l.pending === 0 && l.ack_pending === 0) && r.body;
    },
    { timeoutMs: 20_000, what: 'the monitor to fold every message (monitor_lag all 0)' },
  );
}

function publishRaw(source: string, msgId: string, count: number, ingestedAt: number, timeoutMs?: number) {
  const headers = makeHeaders({
    [H.pipeline]: PIPELINE,
    [H.source]: source,
    [H.count]: count,
    [H.ingestedAt]: ingestedAt,
    [H.contentType]: NDJSON,
  });
  const body = encodeNdjson(Array.from({ length: count }, (_, i) => ({ event_id: `${msgId}-${i}` })));
  return publisher.publish(subjects.raw(PIPELINE, source), body, { msgId, headers, timeoutMs });
}

function publishProcessed(dataset: string, msgId: string, count: number, filtered: number, ingestedAt: number) {
  const headers = makeHeaders({
    [H.pipeline]: PIPELINE,
    [H.dataset]: dataset,
    [H.count]: count,
    [H.filtered]: filtered,
    [H.ingestedAt]: ingestedAt,
    [H.contentType]: NDJSON,
  });
  return publisher.publish(subjects.processed(PIPELINE, dataset), encodeNdjson([]), { msgId, headers });
}

function deadLetter(
  stage: Stage,
  name: string,
  code: DeadLetter['error']['code'],
  message: string,
  record: DeadLetter['record'],
): DeadLetter {
  return {
    pipeline: PIPELINE,
    stage,
    name,
    record,
    error: { code, message },
    attempts: 1,
    replaySubject: stage === 'ingest' ? subjects.raw(PIPELINE, name) : subjects.processed(PIPELINE, name),
    original: { stream: 'TRIB_RAW', subject: subjects.raw(PIPELINE, 'gantry'), seq: 1, msgId: 'gantry:r1', index: 0 },
    ingestedAt: T0 + 500,
    failedAt: new Date(T0 + 600).toISOString(),
  };
}

/** A ledger row; `counts`: inserted, updated, unchanged, skipped (records is their sum). */
async function insertLedger(msgId: string, counts: [number, number, number, number], ingestedAt: number, loadedAt: number) {
  const [inserted, updated, unchanged, skipped] = counts;
  await pg.query(
    `INSERT INTO tributary.load_ledger (pipeline, table_name, msg_id, dataset, stream_seq, records, written, inserted, updated, unchanged, skipped, ingested_at, loaded_at)
     VALUES ($1, 'fact_passage', $2, 'passages', 1, $3, $4, $5, $6, $7, $8, to_timestamp($9 / 1000.0), to_timestamp($10 / 1000.0))`,
    [
      PIPELINE,
      msgId,
      inserted + updated + unchanged + skipped,
      inserted + updated,
      inserted,
      updated,
      unchanged,
      skipped,
      ingestedAt,
      loadedAt,
    ],
    DB,
  );
}

async function startMonitor(): Promise<void> {
  app = createApp(config, { logger });
  ({ port } = await app.start());
}

beforeAll(async () => {
  [nats, pg] = await Promise.all([NatsServer.start(), PostgresServer.start()]);
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-monitor-test-'));
  writeFileSync(
    path.join(dir, 'tolls.yaml'),
    [
      `pipeline: ${PIPELINE}`,
      'sla: { freshness: 2s }',
      'sources:',
      '  gantry: { kind: push }',
      '  sim: { kind: push }',
      'datasets:',
      '  passages:',
      '    from: [gantry, sim]',
      '    fields: { event_id: string }',
      'tables:',
      '  fact_passage: { from: passages, mode: append, key: [event_id] }',
      '',
    ].join('\n'),
  );
  config = loadConfig({
    NATS_URL: nats.url,
    DATABASE_URL: pg.url(DB),
    TRIBUTARY_PIPELINES: dir,
    HOST: '127.0.0.1',
    MONITOR_PORT: '0',
    MONITOR_REFRESH: '0ms',
    LOG_LEVEL: 'silent',
  });
  nc = await connectNats(nats.url, 'monitor-test');
  publisher = new Publisher(jetstream(nc));
});

afterAll(async () => {
  await app?.stop();
  await nc?.close();
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('monitor', () => {
  it('refuses to start before migrate, naming the missing streams and consumers', async () => {
    const early = createApp(config, { logger });
    await expect(early.start()).rejects.toMatchObject({
      code: 'TRIB_E_TOPOLOGY_MISSING',
      message: expect.stringMatching(/consumer TRIB_RAW\/monitor-raw.*consumer TRIB_DLQ\/monitor-dlq.*npm run migrate/),
    });
  });

  it('starts after migrate and reports ready', async () => {
    // A 1 s duplicate window lets the test re-publish a message ID after JetStream forgot it.
    await migrate({
      natsUrl: nats.url,
      databaseUrl: config.DATABASE_URL,
      pipelines: loadPipelines(dir),
      topology: { ...DEFAULT_TOPOLOGY, duplicateWindowMs: 1_000 },
      logger,
    });
    await startMonitor();
    expect((await getJson('/healthz')).status).toBe(200);
    await waitFor(async () => (await getJson('/readyz')).status === 200, { timeoutMs: 10_000, what: '/readyz to answer 200' });
  });

  it('folds raw, processed and dead-letter headers into exact counts, lag and freshness', async () => {
    await Promise.all([
      publishRaw('gantry', 'gantry:r1', 5, T0 + 1_000),
      publishRaw('gantry', 'gantry:r2', 3, T0 + 5_000),
      publishRaw('sim', 'sim:r3', 4, T0 + 3_000),
      // Routing headers missing and a malformed ingest time: still counted, from the subject.
      publisher.publish(subjects.raw(PIPELINE, 'gantry'), encodeNdjson([{}, {}]), {
        msgId: 'gantry:r4',
        headers: makeHeaders({ [H.count]: 2, [H.ingestedAt]: 'soon' }),
      }),
      publishProcessed('passages', 'gantry:r1:passages', 6, 2, T0 + 1_000),
      // Everything filtered: a normal, empty processed batch.
      publishProcessed('passages', 'gantry:r2:passages', 0, 3, T0 + 5_000),
      publishDeadLetter(
        publisher,
        deadLetter('ingest', 'gantry', 'TRIB_E_VALIDATION', 'speed_mph: must be number', { speed_mph: 'fast' }),
        'gantry:r1:0',
      ),
      publishDeadLetter(publisher, deadLetter('ingest', 'sim', 'TRIB_E_VALIDATION', 'event_id: required', {}), 'sim:r3:1'),
      publishDeadLetter(
        publisher,
        deadLetter('transform', 'passages', 'TRIB_E_STEP', 'map: $hmac of null', { event_id: 'e1' }),
        'gantry:r1:passages:3',
      ),
      publishDeadLetter(
        publisher,
        deadLetter('load', 'passages', 'TRIB_E_LOAD_REJECTED', 'value too long', { event_id: 'e2' }),
        'gantry:r1:passages:load:0',
      ),
    ]);
    // A dead letter whose body is not JSON and whose headers are missing is still counted.
    await publisher.publish(subjects.dlq(PIPELINE, 'transform', 'passages'), Buffer.from('not json'), {
      msgId: 'broken-dead-letter',
      headers: makeHeaders({}),
    });
    await insertLedger('gantry:r1:passages', [2, 1, 0, 1], T0 + 1_000, T0 + 10_000);
    await insertLedger('sim:r3:passages', [1, 0, 1, 0], T0 + 2_000, T0 + 20_000);

    const body = await settled();
    expect(body.pipelines).toEqual([
      {
        name: PIPELINE,
        sla: { freshness_seconds: 2 },
        // newest accepted (T0+5s) minus newest loaded (T0+2s)
        freshness_seconds: 3,
        // These messages carry no source time: no source freshness.
        source_freshness_seconds: null,
        newest_source_time: null,
        fresh: false,
        // Not paused by an operator or the circuit breaker.
        paused: null,
        received: 16,
        accepted: 14,
        rejected: 2,
        replayed: 0,
        sources: { gantry: { accepted: 10, rejected: 1, replayed: 0 }, sim: { accepted: 4, rejected: 1, replayed: 0 } },
        datasets: { passages: { records: 6, filtered: 5, dead_lettered: 2 } },
        tables: {
          fact_passage: {
            loaded: 6,
            written: 4,
            inserted: 3,
            updated: 1,
            unchanged: 1,
            skipped: 1,
            dead_lettered: 1,
            newest_ingested_at: new Date(T0 + 2_000).toISOString(),
            last_loaded_at: new Date(T0 + 20_000).toISOString(),
            newest_source_time: null,
            source_freshness_seconds: null,
          },
        },
        dead_lettered: { ingest: 2, transform: 2, load: 1, total: 5 },
        // No drift events were published.
        drift: [],
        filtered: 5,
        lag: {
          // Nothing consumes the transformer and loader durables in this test.
          transformer: { pending: 4, ack_pending: 0, redelivered: 0 },
          loader: { pending: 2, ack_pending: 0, redelivered: 0 },
        },
        last_loaded_at: new Date(T0 + 20_000).toISOString(),
      },
    ]);
    expect(body.monitor_lag).toEqual({
      raw: { pending: 0, ack_pending: 0, redelivered: 0 },
      processed: { pending: 0, ack_pending: 0, redelivered: 0 },
      dlq: { pending: 0, ack_pending: 0, redelivered: 0 },
    });
  });

  it('counts a message once when it is published again with the same message ID', async () => {
    // Inside the duplicate window JetStream drops the repeat; after it, the stream stores a second
    // copy and the monitor's (stream, msg_id) key is what keeps it from being counted twice.
    const again = await waitFor(
      async () => {
        const ack = await publishRaw('gantry', 'gantry:r1', 5, T0 + 1_000);
        return !ack.duplicate && ack;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'JetStream to store a repeat of gantry:r1 after its duplicate window' },
    );
    expect(again.seq).toBeGreaterThan(4);
    await publishDeadLetter(
      publisher,
      deadLetter('ingest', 'gantry', 'TRIB_E_VALIDATION', 'speed_mph: must be number', { speed_mph: 'fast' }),
      'gantry:r1:0',
    );
    const body = await settled();
    const p = body.pipelines[0];
    expect(p.lag.transformer.pending).toBe(5); // the second copy is in the stream...
    expect(p.accepted).toBe(14); // ...but counted once
    expect(p.sources.gantry).toEqual({ accepted: 10, rejected: 1, replayed: 0 });
    expect(p.dead_lettered.total).toBe(5);
    const rows = await pg.query<{ n: string }>("SELECT count(*) AS n FROM tributary.stream_log WHERE msg_id = 'gantry:r1'", [], DB);
    expect(rows[0]!.n).toBe('1');
  });

  it('answers one pipeline by name, and 404 with an error code for an unknown one', async () => {
    const all = await settled();
    const one = await getJson(`/api/pipelines/${PIPELINE}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual({ pipeline: all.pipelines[0], monitor_lag: all.monitor_lag });
    const missing = await getJson('/api/pipelines/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'TRIB_E_UNKNOWN_PIPELINE', message: 'unknown pipeline "nope"' } });
  });

  it('lists dead letters newest first with their reasons, filtered by pipeline and stage', async () => {
    const all = await getJson(`/api/dlq?pipeline=${PIPELINE}`);
    expect(all.status).toBe(200);
    expect(all.body.dead_letters).toHaveLength(5);
    const seqs = all.body.dead_letters.map((d: { seq: number }) => d.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    expect(all.body.dead_letters[0]).toMatchObject({
      stage: 'transform',
      name: 'passages',
      msg_id: 'broken-dead-letter',
      error: { code: null, message: null },
      record: null,
    });

    const ingest = await getJson(`/api/dlq?pipeline=${PIPELINE}&stage=ingest&limit=10`);
    expect(ingest.body.dead_letters.map((d: { name: string }) => d.name).sort()).toEqual(['gantry', 'sim']);
    expect(ingest.body.dead_letters.find((d: { name: string }) => d.name === 'gantry')).toEqual({
      seq: expect.any(Number),
      msg_id: 'gantry:r1:0',
      pipeline: PIPELINE,
      stage: 'ingest',
      name: 'gantry',
      error: { code: 'TRIB_E_VALIDATION', message: 'speed_mph: must be number', location: null },
      record: { speed_mph: 'fast' },
      original: { stream: 'TRIB_RAW', subject: 'trib.raw.tolls.gantry', seq: 1, msgId: 'gantry:r1', index: 0 },
      replay_subject: 'trib.raw.tolls.gantry',
      schema_fingerprint: null,
      attempts: 1,
      ingested_at: new Date(T0 + 500).toISOString(),
      failed_at: new Date(T0 + 600).toISOString(),
      status: 'open',
      status_at: null,
    });

    const page = await getJson(`/api/dlq?limit=2&before=${seqs[0]}`);
    expect(page.body.dead_letters.map((d: { seq: number }) => d.seq)).toEqual(seqs.slice(1, 3));

    const bad = await getJson('/api/dlq?stage=nowhere&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('TRIB_E_PARSE');
  });

  it('exports the same counts, freshness and lag as Prometheus gauges', async () => {
    const m = await getJson('/metrics');
    expect(m.status).toBe(200);
    const value = (name: string, labels: Record<string, string>): number | undefined => {
      for (const line of m.text.split('\n')) {
        const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
        if (!match || match[1] !== name) continue;
        const have = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
        if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(match[3]);
      }
      return undefined;
    };
    const records = (kind: string) => value('tributary_pipeline_records', { pipeline: PIPELINE, kind });
    expect([records('accepted'), records('rejected'), records('filtered'), records('dead_lettered'), records('loaded')]).toEqual([
      14, 2, 5, 5, 6,
    ]);
    expect(value('tributary_pipeline_freshness_seconds', { pipeline: PIPELINE })).toBe(3);
    expect(value('tributary_consumer_pending_messages', { pipeline: PIPELINE, stage: 'transformer' })).toBe(5);
    expect(value('tributary_consumer_pending_messages', { pipeline: PIPELINE, stage: 'loader' })).toBe(2);
    expect(value('tributary_monitor_fold_pending_messages', { stream: 'raw' })).toBe(0);
    // One server, not clustered: every stream has its one copy, and nothing is degraded.
    expect(value('tributary_nats_cluster_degraded', {})).toBe(0);
    expect(value('tributary_nats_server_up', { server: `127.0.0.1:${nats.port}` })).toBe(1);
    expect(value('tributary_stream_replicas', { stream: 'TRIB_RAW', state: 'current' })).toBe(1);
  });

  it('becomes fresh once the newest accepted ingest time has been loaded', async () => {
    await insertLedger('gantry:r2:passages', [0, 0, 0, 0], T0 + 5_000, T0 + 30_000);
    const p = (await settled()).pipelines[0];
    expect(p).toMatchObject({ freshness_seconds: 0, fresh: true, last_loaded_at: new Date(T0 + 30_000).toISOString() });
  });

  it('reports identical counts after a restart, and counts what arrived while it was down', async () => {
    const before = await settled();
    await app!.stop();
    app = undefined;
    await publishRaw('sim', 'sim:r5', 7, T0 + 6_000);
    await startMonitor();
    const after = await settled();
    const p = after.pipelines[0];
    expect(p.accepted).toBe(before.pipelines[0].accepted + 7);
    expect(p.sources.sim.accepted).toBe(before.pipelines[0].sources.sim.accepted + 7);

    // And a restart with nothing new changes nothing at all.
    await app!.stop();
    await startMonitor();
    expect(await settled()).toEqual(after);
  });

  it('keeps counting a dead letter whose record PostgreSQL refuses, storing it without the record', async () => {
    const before = (await settled()).pipelines[0];
    // A NUL in a key: jsonb refuses it (values are cleaned, keys are not). Sent with a good neighbour.
    await Promise.all([
      publishDeadLetter(publisher, deadLetter('transform', 'passages', 'TRIB_E_STEP', 'bad key', { 'a\u0000b': 1 }), 'nul-key'),
      publishDeadLetter(publisher, deadLetter('transform', 'passages', 'TRIB_E_STEP', 'fine', { event_id: 'e3' }), 'neighbour'),
    ]);
    const p = (await settled()).pipelines[0];
    expect(p.dead_lettered.transform).toBe(before.dead_lettered.transform + 2);
    const rows = await pg.query<{ msg_id: string; record: unknown; error_message: string }>(
      "SELECT msg_id, record, error_message FROM tributary.dead_letters WHERE msg_id IN ('nul-key', 'neighbour') ORDER BY msg_id",
      [],
      DB,
    );
    expect(rows).toEqual([
      { msg_id: 'neighbour', record: { event_id: 'e3' }, error_message: 'fine' },
      { msg_id: 'nul-key', record: null, error_message: expect.stringMatching(/^bad key \(body not stored: .*Unicode/) },
    ]);
  });

  it('answers 503 while PostgreSQL is down, and folds what arrived meanwhile once it returns', async () => {
    const before = (await settled()).pipelines[0];
    await pg.stop();
    const down = await getJson('/api/pipelines');
    expect(down.status).toBe(503);
    expect(down.body.error.code).toBe('TRIB_E_WAREHOUSE_UNAVAILABLE');
    expect((await getJson('/readyz')).status).toBe(503);
    await publishRaw('gantry', 'gantry:r7', 2, T0 + 6_500);
    await publishProcessed('passages', 'gantry:r7:passages', 2, 0, T0 + 6_500);

    await pg.restart();
    const after = await waitFor(
      async () => {
        const b = await settled();
        return b.pipelines[0].accepted === before.accepted + 2 && b;
      },
      { timeoutMs: 30_000, what: 'the messages published while PostgreSQL was down to be counted' },
    );
    expect(after.pipelines[0].datasets.passages.records).toBe(before.datasets.passages.records + 2);
    expect((await getJson('/readyz')).status).toBe(200);
  });

  it('serves counts while NATS is down, with lag marked unavailable, and resumes folding when it returns', async () => {
    const before = (await settled()).pipelines[0];
    await nats.stop();
    await waitFor(async () => (await getJson('/readyz')).status === 503, { timeoutMs: 10_000, what: '/readyz to answer 503 without NATS' });
    const down = await getJson('/api/pipelines');
    expect(down.status).toBe(200);
    const p = down.body.pipelines[0];
    expect(p.accepted).toBe(before.accepted);
    expect(p.lag.transformer).toEqual({ pending: null, ack_pending: null, redelivered: null, error: 'NATS is not connected' });
    expect(down.body.monitor_lag.raw.error).toBe('NATS is not connected');
    const cluster = await getJson('/api/cluster');
    expect(cluster.body).toMatchObject({
      clustered: false,
      degraded: true,
      servers: [{ address: `127.0.0.1:${nats.port}`, reachable: false }],
    });
    expect(cluster.body.reasons).toContain('stream TRIB_RAW: NATS is not connected');

    await nats.restart();
    await waitFor(async () => (await getJson('/readyz')).status === 200, {
      timeoutMs: 20_000,
      what: '/readyz to answer 200 after NATS returns',
    });
    // The first publishes after a restart can go unanswered while JetStream recovers its streams:
    // retry with a short timeout (a retry carries the same message ID, so it is counted once).
    await waitFor(async () => publishRaw('gantry', 'gantry:r6', 1, T0 + 7_000, 1_000), {
      timeoutMs: 20_000,
      what: 'a publish to succeed after the NATS restart',
    });
    const after = await waitFor(
      async () => {
        const b = await settled();
        return b.pipelines[0].accepted === before.accepted + 1 && b;
      },
      { timeoutMs: 20_000, what: 'the raw message published after the NATS restart to be counted' },
    );
    // newest accepted is now T0+7s (gantry:r6), newest loaded T0+5s
    expect(after.pipelines[0].freshness_seconds).toBe(2);
    expect((await getJson('/api/cluster')).body).toMatchObject({
      degraded: false,
      reasons: [],
      servers: [{ reachable: true, version: expect.any(String) }],
    });
  });
});
