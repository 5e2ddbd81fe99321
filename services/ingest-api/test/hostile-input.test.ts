/**
 * Hostile input at the ingest API (real NATS, the real app in process): whatever arrives, the
 * answer is a documented status with a JSON error, never a 500, a crash or a hang, and a refused
 * request publishes nothing.
 */
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, DEFAULT_TOPOLOGY, ensureBuckets, ensureStreams } from '@tributary/runtime/nats';
import { loadPipelines } from '@tributary/contract/spec';
import { NatsServer, stopAll } from '@tributary/testkit';
import fc from 'fast-check';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';

jest.setTimeout(120_000);

let nats: NatsServer;
let app: ReturnType<typeof createApp>;
let base: string;

beforeAll(async () => {
  nats = await NatsServer.start();
  const nc = await connectNats(nats.url, 'setup');
  await ensureStreams(await jetstreamManager(nc), DEFAULT_TOPOLOGY);
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  await nc.close();
  const pipelines = loadPipelines(path.resolve(__dirname, '../../../pipelines/traffic.yaml'));
  app = createApp(
    loadConfig({
      NATS_URL: nats.url,
      INGEST_PORT: '0',
      INGEST_GENERATORS: 'false',
      INGEST_MAX_BODY_BYTES: String(16 * 1024 * 1024),
      LOG_LEVEL: 'silent',
    }),
    {
      pipelines,
      logger: pino({ level: 'silent' }),
    },
  );
  base = `http://127.0.0.1:${(await app.start()).port}`;
});

afterAll(async () => {
  await app?.stop();
  await stopAll();
});

async function rawMessages(): Promise<number> {
  const nc = await connectNats(nats.url, 'count');
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info('TRIB_RAW')).state.messages + (await jsm.streams.info('TRIB_DLQ')).state.messages;
  } finally {
    await nc.close();
  }
}

async function post(body: string | Buffer, type = 'application/json'): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}/v1/pipelines/traffic/sources/gantry/records`, { method: 'POST', headers: { 'content-type': type }, body });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) };
}

const ok = (id: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  event_id: id,
  gantry_id: 'G001',
  plate: 'AB1',
  speed_mph: 50,
  lane: 1,
  passengers: 1,
  observed_at: '2026-11-21T08:00:00Z',
  ...extra,
});

describe('hostile input at the ingest API', () => {
  it('refuses a body nested 200,000 levels deep with 400 and publishes nothing', async () => {
    const before = await rawMessages();
    for (const body of ['['.repeat(200_000) + ']'.repeat(200_000), `[${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}]`]) {
      const r = await post(body);
      expect(r.status).toBe(400);
      expect(r.json.error.code).toBe('TRIB_E_PARSE');
    }
    expect(await rawMessages()).toBe(before);
  });

  it('refuses a single record larger than a message with 413 naming the record, and publishes nothing', async () => {
    const before = await rawMessages();
    const r = await post(JSON.stringify([ok('small'), ok('huge', { note: 'x'.repeat(10 * 1024 * 1024) })]));
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/record 1 is \d+ bytes/);
    expect(await rawMessages()).toBe(before);
  });

  it('rejects records with prototype-pollution keys, huge numbers and NUL bytes per record, without touching Object.prototype', async () => {
    const body = [
      '{"__proto__": {"polluted": true}, "event_id": "p1", "gantry_id": "G001", "plate": "A", "speed_mph": 1, "lane": 1, "passengers": 1, "observed_at": "2026-11-21T08:00:00Z"}',
      JSON.stringify(ok('n1', { speed_mph: 1e308 })),
      '{"event_id": "n2", "gantry_id": "G001", "plate": "A", "speed_mph": 1e400, "lane": 1, "passengers": 1, "observed_at": "2026-11-21T08:00:00Z"}',
      JSON.stringify(ok('nul\u0000id', { plate: 'A\u0000B' })),
      JSON.stringify({ constructor: { prototype: { polluted: true } }, ...ok('c1') }),
    ].join('\n');
    const r = await post(body, 'application/x-ndjson');
    expect(r.status).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const rejected = new Set((r.json.errors as { index: number }[]).map((e) => e.index));
    expect(rejected.has(1)).toBe(true); // 1e308 mph is above the schema's maximum
    expect(rejected.has(2)).toBe(true); // 1e400 parses as Infinity
    expect(r.json.accepted + r.json.rejected).toBe(5);
  });

  it('answers a CSV quote bomb and invalid UTF-8 with 400', async () => {
    const bomb = `event_id,plate\n"${'"'.repeat(1_000_001)}`;
    expect((await post(bomb, 'text/csv')).status).toBe(400);
    expect((await post(Buffer.from([0x5b, 0xff, 0xfe, 0x5d]))).status).toBe(400);
  });

  it('never answers 500 to random bodies, content types and encodings', async () => {
    const types = fc.constantFrom('application/json', 'application/x-ndjson', 'text/csv', 'text/plain', 'application/json; charset=utf-8');
    const bodies = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.json({ maxDepth: 6 }),
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      fc.array(fc.json({ maxDepth: 3 }), { maxLength: 20 }).map((a) => a.join('\n')),
      fc
        .array(fc.array(fc.string({ maxLength: 10 }), { maxLength: 5 }), { maxLength: 10 })
        .map((rows) => `event_id,plate,speed_mph\n${rows.map((r) => r.join(',')).join('\n')}`),
    );
    await fc.assert(
      fc.asyncProperty(bodies, types, async (body, type) => {
        const r = await post(body, type);
        expect([202, 400, 413, 415, 422]).toContain(r.status);
        if (r.status !== 202) expect(r.json.error.code).toMatch(/^TRIB_E_/);
      }),
      { numRuns: 150 },
    );
  });
});
