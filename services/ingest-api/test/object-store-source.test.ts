/**
 * The `object_store` source against s3rver (a local S3-protocol server) and a real NATS, with the
 * ingest-api as a child process: objects under the prefix are ingested once (bad rows
 * dead-lettered with the key and line), moved below `done/`; other prefixes are left alone; the
 * same content landing again after a restart is not ingested again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort, stopAll, waitFor } from '@tributary/testkit';
import { SourceEnv } from './source-env';

// s3rver ships no types.
const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<unknown>; close(): Promise<void> };

afterAll(stopAll);

const pipeline = (port: number) => `
pipeline: lake
connections:
  landing:
    kind: s3
    endpoint: http://127.0.0.1:${port}
    bucket: landing
    access_key_id: env:LAKE_KEY
    secret_access_key: env:LAKE_SECRET
sources:
  incoming:
    kind: object_store
    connection: landing
    prefix: incoming/
    schema: ../schemas/order.json
    schedule: { every: 200ms }
datasets:
  orders:
    from: incoming
    fields: { order_id: integer }
`;

describe('object_store source', () => {
  let env: SourceEnv;
  let server: { close(): Promise<void> };
  let s3: S3Client;
  let dir: string;
  let port: number;

  beforeAll(async () => {
    env = await SourceEnv.start();
    dir = mkdtempSync(path.join(tmpdir(), 'trib-s3-'));
    port = await freePort();
    const s = new S3rver({ port, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: [{ name: 'landing' }] });
    await s.run();
    server = s;
    s3 = new S3Client({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const { mkdirSync, writeFileSync } = await import('node:fs');
    mkdirSync(path.join(env.dir, 'schemas'));
    writeFileSync(
      path.join(env.dir, 'schemas/order.json'),
      JSON.stringify({ type: 'object', required: ['order_id'], properties: { order_id: { type: 'integer' }, qty: { type: 'integer' } } }),
    );
    env.writePipeline('lake', pipeline(port));
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
    await env?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));
  const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: 'landing' }))).Contents ?? []).map((o) => o.Key!).sort();
  const creds = { LAKE_KEY: 'S3RVER', LAKE_SECRET: 'S3RVER' };

  it('ingests new objects under the prefix once, dead-letters bad rows with key and line, and moves them to done/', async () => {
    const csv = 'order_id,qty\n1,2\noops,3\n4,5\n';
    await put('incoming/orders.csv', csv);
    await put('incoming/2024/events.ndjson', '{"order_id": 7, "qty": 1}\n{"order_id": 8\n');
    await put('elsewhere/ignored.csv', 'order_id\n99\n');
    await put('incoming/done/old.csv', 'order_id\n98\n');

    let ingest = await env.spawnIngest(creds);
    await waitFor(
      async () => (await keys()).includes('incoming/done/2024/events.ndjson') && (await keys()).includes('incoming/done/orders.csv'),
      {
        timeoutMs: 20_000,
        what: 'both objects moved to incoming/done/',
      },
    );
    const records = (await env.raw('lake', 'incoming')).flatMap((m) => m.records);
    expect(records.map((r) => r.order_id).sort()).toEqual([1, 4, 7]);
    expect(await keys()).toEqual([
      'elsewhere/ignored.csv',
      'incoming/done/2024/events.ndjson',
      'incoming/done/old.csv',
      'incoming/done/orders.csv',
    ]);
    const dlq = (await env.deadLetters('lake', 'incoming')).map((d) => (d.error as { location: { file: string; line: number } }).location);
    expect(dlq.sort((a, b) => a.file.localeCompare(b.file))).toEqual([
      { file: 'incoming/2024/events.ndjson', line: 2 },
      { file: 'incoming/orders.csv', line: 3, field: 'order_id' },
    ]);

    // After a restart, the same content landing again is recognised and only moved.
    await ingest.proc.stop();
    ingest = await env.spawnIngest(creds);
    const messages = (await env.raw('lake', 'incoming')).length;
    await put('incoming/orders-again.csv', csv);
    await waitFor(async () => (await keys()).includes('incoming/done/orders-again.csv'), {
      timeoutMs: 20_000,
      what: 'the repeat moved to done/',
    });
    expect((await env.raw('lake', 'incoming')).length).toBe(messages);
    await ingest.proc.stop();
  });
});
