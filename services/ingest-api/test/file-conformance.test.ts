/**
 * The `file` and `object_store` sources pass the pull-source conformance suite: each `add` drops
 * one NDJSON file (a folder entry, or an object in s3rver) with the next records.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { freePort } from '@tributary/testkit';
import { create as createFile } from '../src/sources/file';
import { create as createObjectStore } from '../src/sources/object-store';
import { pullSourceConformance } from './conformance';

// s3rver ships no types.
const S3rver = require('s3rver') as new (opts: object) => { run(): Promise<unknown>; close(): Promise<void> };

/** `n` NDJSON lines with ids from `from`. */
function lines(from: number, n: number): string {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ id: from + i, name: `item ${from + i}` })).join('\n') + '\n';
}

pullSourceConformance('file', async (h, id) => {
  const folder = path.join(h.env.dir, `${id}-landing`);
  mkdirSync(folder, { recursive: true });
  const pipeline = h.pipeline(`
pipeline: ${id}
sources:
  items:
    kind: file
    path: ${folder}
    min_age: 0ms
    batch_records: 5
datasets:
  out: { from: items, fields: { id: integer } }
`);
  let n = 0;
  let files = 0;
  return {
    pipeline,
    source: 'items',
    batch: 5,
    create: () =>
      createFile.pull(pipeline.sources.items as never, { pipeline, name: 'items', ingestor: undefined as never, logger: h.logger }),
    add: async (k) => {
      writeFileSync(path.join(folder, `f${String(++files).padStart(3, '0')}.ndjson`), lines(n + 1, k));
      n += k;
    },
    keyOf: (r) => String(r.id),
    expectedKeys: async () => Array.from({ length: n }, (_, i) => String(i + 1)),
  };
});

pullSourceConformance('object_store', async (h, id) => {
  const port = await freePort();
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    directory: mkdtempSync(path.join(tmpdir(), 'trib-s3c-')),
    silent: true,
    configureBuckets: [{ name: id }],
  });
  await server.run();
  const s3 = new S3Client({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  process.env.CONF_S3_KEY = 'S3RVER';
  const pipeline = h.pipeline(`
pipeline: ${id}
connections:
  bucket: { kind: s3, endpoint: "http://127.0.0.1:${port}", bucket: ${id}, access_key_id: env:CONF_S3_KEY, secret_access_key: env:CONF_S3_KEY }
sources:
  items:
    kind: object_store
    connection: bucket
    prefix: in/
    batch_records: 5
datasets:
  out: { from: items, fields: { id: integer } }
`);
  let n = 0;
  let files = 0;
  return {
    pipeline,
    source: 'items',
    batch: 5,
    create: () =>
      createObjectStore.pull(pipeline.sources.items as never, { pipeline, name: 'items', ingestor: undefined as never, logger: h.logger }),
    add: async (k) => {
      await s3.send(new PutObjectCommand({ Bucket: id, Key: `in/f${String(++files).padStart(3, '0')}.ndjson`, Body: lines(n + 1, k) }));
      n += k;
    },
    keyOf: (r) => String(r.id),
    expectedKeys: async () => Array.from({ length: n }, (_, i) => String(i + 1)),
    close: async () => {
      s3.destroy();
      await server.close();
    },
  };
});
