/**
 * Every documented error of the ingest API (docs/design.md, Services, ports, shapes), and that none of them writes anything;
 * a bad spec file stops a service with an error naming the file, line and field.
 */
import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { spawnService } from '@tributary/testkit';
import { ndjson, passage } from './passages';
import { Stack } from './stack';

const ROOT = path.resolve(__dirname, '../..');
jest.setTimeout(120_000);
const API_KEY = 'test-key-for-traffic-only';

describe('ingest API errors', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({
      services: ['ingest-api'],
      env: {
        INGEST_MAX_BODY_BYTES: '65536',
        TRIBUTARY_API_KEYS: `ci:${createHash('sha256').update(API_KEY).digest('hex')}:traffic`,
      },
    });
  }, 120_000);
  afterAll(async () => stack?.stopAll());

  const auth = { authorization: `Bearer ${API_KEY}` };

  async function streamMessages(): Promise<number> {
    const nc = await connect({ servers: stack.nats.url });
    try {
      const jsm = await jetstreamManager(nc);
      const raw = await jsm.streams.info('TRIB_RAW');
      const dlq = await jsm.streams.info('TRIB_DLQ');
      return raw.state.messages + dlq.state.messages;
    } finally {
      await nc.close();
    }
  }

  it.each([
    ['malformed NDJSON names the line', 'application/x-ndjson', '{"event_id":"a"}\n{"event_id":', 400, /line 2/],
    ['malformed JSON names line and column', 'application/json', '[{"event_id": "a"},\n {"event_id": }]', 400, /line 2, column/],
    ['a JSON scalar is refused', 'application/json', '42', 400, /array of records/],
    ['malformed CSV names the line', 'text/csv', 'event_id,gantry_id\n"a,G001\n', 400, /CSV/],
    ['an unknown content type', 'text/plain', 'hello', 415, /unsupported content type/],
    ['no content type', '', 'hello', 415, /unsupported content type/],
  ])('%s', async (_name, type, body, status, message) => {
    const before = await streamMessages();
    const headers: Record<string, string> = { ...auth };
    const r = await fetch(`${stack.url('ingest-api')}/v1/pipelines/traffic/sources/gantry/records`, {
      method: 'POST',
      headers: type ? { ...headers, 'content-type': type } : headers,
      body,
    });
    expect(r.status).toBe(status);
    const json = (await r.json()) as { error: { code: string; message: string } };
    expect(json.error.message).toMatch(message);
    expect(json.error.code).toMatch(/^TRIB_E_/);
    expect(await streamMessages()).toBe(before);
  });

  it('refuses an oversized body with 413', async () => {
    const before = await streamMessages();
    const r = await stack.push('gantry', ndjson(0, 1_000), auth);
    expect(r.status).toBe(413);
    expect(r.json.error.code).toBe('TRIB_E_TOO_LARGE');
    expect(await streamMessages()).toBe(before);
  });

  it('answers 404 for an unknown pipeline, source, or a source that is not push', async () => {
    const before = await streamMessages();
    const key = { authorization: `Bearer ${API_KEY}` };
    expect((await stack.push('gantry', ndjson(0, 1), key, 'nope')).status).toBe(404);
    const unknownSource = await stack.push('nope', ndjson(0, 1), key);
    expect(unknownSource.status).toBe(404);
    expect(unknownSource.json.error.code).toBe('TRIB_E_UNKNOWN_SOURCE');
    expect((await stack.push('simulator', ndjson(0, 1), key)).status).toBe(404);
    expect(await streamMessages()).toBe(before);
  });

  it('answers 401 without a valid key, and for a key not scoped to the pipeline', async () => {
    const before = await streamMessages();
    expect((await stack.push('gantry', ndjson(0, 1))).status).toBe(401);
    expect((await stack.push('gantry', ndjson(0, 1), { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await stack.push('gantry', ndjson(0, 1), { 'x-api-key': API_KEY })).status).toBe(202);
    expect(await streamMessages()).toBe(before + 1);
  });

  it('publishes NDJSON records as the client wrote them, and re-serialises JSON arrays', async () => {
    const nc = await connect({ servers: stack.nats.url });
    const jsm = await jetstreamManager(nc);
    const lastRaw = async (): Promise<string> =>
      new TextDecoder().decode((await jsm.streams.getMessage('TRIB_RAW', { last_by_subj: 'trib.raw.traffic.gantry' }))!.data);
    try {
      // Spaces, CRLF line ends and key order survive; the invalid record 7 is dead-lettered.
      const [a, b, c] = [passage(1), passage(7), passage(2)];
      const spaced = (r: Record<string, unknown>): string => JSON.stringify(r, null, 1).replace(/\n/g, ' ');
      const body = `${spaced(a)}\r\n${JSON.stringify(b)}\r\n  ${spaced(c)}\r\n`;
      const post = async (type: string, text: string): Promise<Response> =>
        fetch(`${stack.url('ingest-api')}/v1/pipelines/traffic/sources/gantry/records`, {
          method: 'POST',
          headers: { ...auth, 'content-type': type },
          body: text,
        });
      const r = await post('application/x-ndjson', body);
      expect(r.status).toBe(202);
      expect(await r.json()).toMatchObject({ accepted: 2, rejected: 1 });
      expect(await lastRaw()).toBe(`${spaced(a)}\n${spaced(c)}`);
      expect((await lastRaw()).split('\n').map((l) => JSON.parse(l))).toEqual([a, c]);

      const array = await post('application/json', JSON.stringify([a, c], null, 2));
      expect(array.status).toBe(202);
      expect(await lastRaw()).toBe(`${JSON.stringify(a)}\n${JSON.stringify(c)}`);
    } finally {
      await nc.close();
    }
  });

  it('reads CSV with typed columns and reports rejected rows by index', async () => {
    const csv = [
      'event_id,gantry_id,plate,speed_mph,lane,passengers,observed_at',
      'c-1,G001,AB1,55.5,2,1,2026-11-21T08:00:00Z',
      'c-2,G001,AB2,fast,2,1,2026-11-21T08:00:00Z',
    ].join('\n');
    const r = await fetch(`${stack.url('ingest-api')}/v1/pipelines/traffic/sources/gantry/records`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/csv' },
      body: csv,
    });
    expect(r.status).toBe(202);
    const json = (await r.json()) as { accepted: number; rejected: number; errors: { index: number; field: string }[] };
    expect(json).toMatchObject({ accepted: 1, rejected: 1 });
    expect(json.errors).toEqual([expect.objectContaining({ index: 1, field: 'speed_mph' })]);
  });

  it('answers 503 with Retry-After when JetStream is unavailable', async () => {
    await stack.nats.stop();
    try {
      const r = await stack.push('gantry', ndjson(0, 5), auth);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(r.json.error.code).toBe('TRIB_E_UNAVAILABLE');
    } finally {
      await stack.nats.restart();
    }
  });

  it('stops a service on a bad spec file with an error naming the file, line and field', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-bad-spec-'));
    cpSync(path.join(ROOT, 'pipelines/schemas'), path.join(dir, 'schemas'), { recursive: true });
    writeFileSync(
      path.join(dir, 'bad.yaml'),
      [
        'pipeline: bad',
        'sources:',
        '  in: { kind: push }',
        'datasets:',
        '  d:',
        '    from: [in]',
        '    fields: { a: strng }',
        'tables: {}',
        '',
      ].join('\n'),
    );
    const before = await streamMessages();
    const proc = await spawnService({
      name: 'ingest-bad-spec',
      script: path.join(ROOT, 'services/ingest-api/dist/main.js'),
      env: { ...stack.env, TRIBUTARY_PIPELINES: dir, INGEST_PORT: '0' },
    });
    expect(await proc.exited).toBe(1);
    expect(proc.logTail()).toMatch(/bad\.yaml:7:\d+: datasets\.d\.fields\.a/);
    await expect(stack.cli(['validate', dir])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/TRIB_E_SPEC.*\n.*bad\.yaml:7/),
    });
    expect(await streamMessages()).toBe(before);
    await proc.cleanup();
  });
});
