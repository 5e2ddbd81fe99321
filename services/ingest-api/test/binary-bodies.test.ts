/**
 * Avro and Protobuf at the ingest API (real NATS, the app in process): bodies decoded with the
 * source's schema (an Avro container written with an older compatible version is resolved to the
 * current one), records checked and decoded by an Avro source schema with bad ones dead-lettered
 * with every reason (each with its field, in the reply and the dead letter), an incompatible writer schema refused with the reason and nothing published,
 * and the schema fingerprint on every raw message.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { avroType, compileSchema, protobufType } from '@tributary/contract/schema';
import { H, STREAMS } from '@tributary/contract/wire';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { connectNats, DEFAULT_TOPOLOGY, ensureBuckets, ensureStreams } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';
import avro from 'avsc';
import pino from 'pino';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';

jest.setTimeout(120_000);

const SCHEMAS = path.resolve(__dirname, '../../../pipelines/schemas');
const AVRO = JSON.parse(readFileSync(path.join(SCHEMAS, 'transaction.avsc'), 'utf8')) as { fields: { name: string }[] };
const PROTO = readFileSync(path.join(SCHEMAS, 'transaction.proto'), 'utf8');
const SPEC = `
pipeline: payments
sources:
  avro_in: { kind: push, schema: transaction.avsc }
  proto_in: { kind: push, schema: transaction.proto }
  json_in: { kind: push, schema: transaction.json }
datasets:
  all:
    from: [avro_in, proto_in, json_in]
    fields: { tx_id: string }
`;

let nats: NatsServer;
let nc: NatsConnection;
let app: ReturnType<typeof createApp>;
let base: string;

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connectNats(nats.url, 'test');
  await ensureStreams(await jetstreamManager(nc), DEFAULT_TOPOLOGY);
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-binary-'));
  for (const f of ['transaction.avsc', 'transaction.proto', 'transaction.json'])
    writeFileSync(path.join(dir, f), readFileSync(path.join(SCHEMAS, f)));
  writeFileSync(path.join(dir, 'payments.yaml'), SPEC);
  app = createApp(loadConfig({ NATS_URL: nats.url, INGEST_PORT: '0', INGEST_GENERATORS: 'false', LOG_LEVEL: 'silent' }), {
    pipelines: [loadPipelineFile(path.join(dir, 'payments.yaml'))],
    logger: pino({ level: 'silent' }),
  });
  base = `http://127.0.0.1:${(await app.start()).port}`;
});

afterAll(async () => {
  await app?.stop();
  await nc?.close();
  await stopAll();
});

const tx = (id: string, extra: Rec = {}): Rec => ({
  tx_id: id,
  card_id: 'C000001',
  merchant_id: 'M0001',
  lat: 52.37,
  lon: 4.9,
  amount: 12.5,
  currency: 'EUR',
  at: '2026-03-01T09:00:00.000Z',
  ...extra,
});

async function post(source: string, body: Buffer | string, type: string): Promise<{ status: number; json: any }> {
  const r = await fetch(`${base}/v1/pipelines/payments/sources/${source}/records`, {
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });
  return { status: r.status, json: JSON.parse(await r.text()) };
}

async function container(schema: unknown, records: Rec[]): Promise<Buffer> {
  const enc = new avro.streams.BlockEncoder(avroType(schema) as unknown as avro.Schema);
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  for (const r of records) enc.write(r);
  enc.end();
  await once(enc, 'end');
  return Buffer.concat(chunks);
}

/** Every message on `subject` of `stream`: its records and schema fingerprint header. */
async function messages(stream: string, subject: string): Promise<{ records: Rec[]; fingerprint?: string }[]> {
  const jsm = await jetstreamManager(nc);
  const c = await jsm.consumers.add(stream, { filter_subject: subject, ack_policy: AckPolicy.None, inactive_threshold: 10_000_000_000 });
  const out: { records: Rec[]; fingerprint?: string }[] = [];
  if (c.num_pending > 0) {
    const consumer = await jetstream(nc).consumers.get(stream, c.name);
    for await (const m of await consumer.fetch({ max_messages: c.num_pending, expires: 5_000 })) {
      const text = Buffer.from(m.data).toString('utf8');
      out.push({
        records: text.startsWith('{"pipeline"')
          ? [JSON.parse(text) as Rec]
          : text
              .split('\n')
              .filter(Boolean)
              .map((l) => JSON.parse(l) as Rec),
        fingerprint: m.headers?.get(H.schema) || undefined,
      });
      if (out.length === c.num_pending) break;
    }
  }
  await jsm.consumers.delete(stream, c.name);
  return out;
}

const avroFingerprint = `avro:${compileSchema(AVRO, 'transaction.avsc', 'avro').fingerprint}`;

describe('binary bodies and Avro/Protobuf source schemas', () => {
  it('reads an Avro container written with an older compatible schema version, resolved to the current one', async () => {
    // Version 1 had no `channel` (version 2 gives it a default).
    const v1 = { ...AVRO, fields: AVRO.fields.filter((f) => f.name !== 'channel') };
    const r = await post('avro_in', await container(v1, [tx('a1'), tx('a2')]), 'application/avro');
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ accepted: 2, rejected: 0 });
    const raw = await messages(STREAMS.raw, 'trib.raw.payments.avro_in');
    expect(raw).toHaveLength(1);
    expect(raw[0]!.fingerprint).toBe(avroFingerprint);
    expect(raw[0]!.records).toEqual([
      { ...tx('a1'), merchant_name: null, merchant_category: null, city: null, country: null, channel: 'unknown' },
      { ...tx('a2'), merchant_name: null, merchant_category: null, city: null, country: null, channel: 'unknown' },
    ]);
  });

  it('refuses an Avro container whose writer schema is incompatible, with the reason, publishing nothing', async () => {
    const before = (await messages(STREAMS.raw, 'trib.raw.payments.avro_in')).length;
    const bad = { ...AVRO, fields: AVRO.fields.map((f) => (f.name === 'amount' ? { name: 'amount', type: 'string' } : f)) };
    const r = await post('avro_in', await container(bad, [tx('b1', { amount: 'lots', channel: 'chip' })]), 'application/avro');
    expect(r.status).toBe(409);
    expect(r.json.error.code).toBe('TRIB_E_SCHEMA_INCOMPATIBLE');
    expect(r.json.error.message).toMatch(/writer schema cannot be read with the source schema/);
    expect(await messages(STREAMS.raw, 'trib.raw.payments.avro_in')).toHaveLength(before);
  });

  it('checks JSON records against an Avro source schema: a bad one is dead-lettered with the field and the reason', async () => {
    const r = await post('avro_in', JSON.stringify([tx('j1'), tx('j2', { amount: 'lots' })]), 'application/json');
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({
      accepted: 1,
      rejected: 1,
      errors: [{ index: 1, field: 'amount', reason: 'field "amount": "lots" is not a valid Avro double' }],
    });
    const dead = await messages(STREAMS.dlq, 'trib.dlq.payments.ingest.avro_in');
    expect(dead.map((d) => d.records[0]!.error)).toContainEqual(
      expect.objectContaining({ code: 'TRIB_E_VALIDATION', message: 'field "amount": "lots" is not a valid Avro double' }),
    );
  });

  it.each([
    ['avro_in', 'Avro'],
    ['proto_in', 'Protobuf'],
    ['json_in', 'JSON Schema'],
  ])('reports every bad field of a record (%s: %s) in the reply and the dead letter, each with its field', async (source) => {
    const bad = tx('m2', { amount: 'lots', lat: 'north', currency: 7 });
    const r = await post(source, JSON.stringify([tx('m1'), bad]), 'application/json');
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ accepted: 1, rejected: 1 });
    const [rejection] = r.json.errors as { index: number; field: string; reason: string; errors: { field: string; reason: string }[] }[];
    expect(rejection!.index).toBe(1);
    expect(rejection!.errors.map((e) => e.field).sort()).toEqual(['amount', 'currency', 'lat']);
    for (const e of rejection!.errors) expect(e.reason).toContain(e.field);
    expect(rejection!.reason).toMatch(/^3 problems: /);
    const dead = (await messages(STREAMS.dlq, `trib.dlq.payments.ingest.${source}`)).map((d) => d.records[0]!);
    const letter = dead.find((d) => (d.original as { msgId: string; index: number }).index === 1 && (d.record as Rec).tx_id === 'm2');
    const error = letter!.error as { code: string; message: string; location: Rec; details: { field: string; message: string }[] };
    expect(error).toMatchObject({ code: 'TRIB_E_VALIDATION', message: rejection!.reason, location: { index: 1, field: rejection!.field } });
    expect(error.details.map((d) => [d.field, d.message])).toEqual(rejection!.errors.map((e) => [e.field, e.reason]));
  });

  it('decodes length-delimited Protobuf messages with the source .proto', async () => {
    const type = protobufType(PROTO);
    const body = Buffer.concat([tx('p1', { channel: 'chip' }), tx('p2')].map((x) => type.encodeDelimited(type.fromObject(x)).finish()));
    const r = await post('proto_in', body, 'application/x-protobuf');
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ accepted: 2, rejected: 0 });
    const raw = await messages(STREAMS.raw, 'trib.raw.payments.proto_in');
    expect(raw.at(-1)!.records).toEqual([tx('p1', { channel: 'chip' }), tx('p2')]);
    expect(raw.at(-1)!.fingerprint).toMatch(/^protobuf:[0-9a-f]{16}$/);
  });

  it('answers 415 for a binary body the source has no schema of that kind for', async () => {
    const r = await post('json_in', await container(AVRO, [tx('x1', { channel: 'chip' })]), 'application/avro');
    expect(r.status).toBe(415);
    expect(r.json.error.message).toMatch(/has no Avro schema/);
  });
});
