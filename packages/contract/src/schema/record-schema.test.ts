import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { TributaryError } from '../errors';
import { decodeAvroContainer } from './avro-container';
import { decodeProtobufDelimited } from './protobuf-delimited';
import { avroType, compileSchema, parseSchemaText, protobufType, schemaKindOf } from './record-schema';

const SCHEMAS = path.resolve(__dirname, '../../../../pipelines/schemas');
const read = (f: string) => readFileSync(path.join(SCHEMAS, f), 'utf8');
const AVRO = JSON.parse(read('transaction.avsc')) as Record<string, unknown>;
const PROTO = read('transaction.proto');
const JSON_SCHEMA = JSON.parse(read('transaction.json')) as unknown;

const tx = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  tx_id: 't1',
  card_id: 'C000001',
  merchant_id: 'M0001',
  lat: 52.37,
  lon: 4.9,
  amount: 12.5,
  currency: 'EUR',
  at: '2026-03-01T09:00:00.000Z',
  ...extra,
});

/** Version 1 of the Avro schema: no `channel`, and a `note` field version 2 dropped. */
const AVRO_V1 = {
  ...AVRO,
  fields: [
    ...(AVRO.fields as { name: string }[]).filter((f) => f.name !== 'channel'),
    { name: 'note', type: ['null', 'string'], default: null },
  ],
};

async function container(schema: unknown, records: unknown[]): Promise<Buffer> {
  const enc = new avro.streams.BlockEncoder(avroType(schema) as unknown as avro.Schema);
  const chunks: Buffer[] = [];
  enc.on('data', (c: Buffer) => chunks.push(c));
  for (const r of records) enc.write(r);
  enc.end();
  await once(enc, 'end');
  return Buffer.concat(chunks);
}

describe('record schemas', () => {
  it('tells the kind by extension unless told', () => {
    expect([schemaKindOf('a.avsc'), schemaKindOf('a.proto'), schemaKindOf('a.json'), schemaKindOf('a.json', 'avro')]).toEqual([
      'avro',
      'protobuf',
      'json_schema',
      'avro',
    ]);
  });

  describe('Avro', () => {
    const schema = compileSchema(AVRO, 'transaction.avsc', 'avro');

    it('decodes a JSON record: defaults filled in, undeclared fields dropped, timestamps as ISO 8601', () => {
      const r = schema.check(tx({ extra: 1, at: '2026-03-01T10:00:00+01:00' }));
      expect(r).toEqual({
        record: {
          ...tx(),
          merchant_name: null,
          merchant_category: null,
          city: null,
          country: null,
          channel: 'unknown',
          at: '2026-03-01T09:00:00.000Z',
        },
      });
    });

    it('rejects a bad record naming the field and the Avro type it should have', () => {
      expect(schema.check(tx({ amount: 'twelve' }))).toMatchObject({
        problem: { field: 'amount', message: 'field "amount": "twelve" is not a valid Avro double' },
        problems: [{ field: 'amount', message: 'field "amount": "twelve" is not a valid Avro double' }],
      });
      expect(schema.check(tx({ card_id: undefined }))).toMatchObject({
        problem: { field: 'card_id', message: 'field "card_id" is missing (Avro type string)' },
      });
      expect(schema.check(tx({ channel: 'telepathy' }))).toMatchObject({
        problem: { field: 'channel', message: expect.stringContaining('enum') },
      });
      expect(schema.check(tx({ at: 'yesterday' }))).toMatchObject({
        problem: { field: 'at', message: expect.stringContaining('timestamp-millis') },
      });
    });

    it('reports every bad field of a record, each with its field', () => {
      const r = schema.check(tx({ amount: 'twelve', card_id: undefined, at: 'yesterday' }));
      expect(r).toMatchObject({
        problem: {
          field: 'card_id',
          message: expect.stringMatching(/^3 problems: field "card_id" is missing .*; field "amount": .*; field "at": /),
        },
      });
      expect('problems' in r && r.problems.map((p) => p.field)).toEqual(['card_id', 'amount', 'at']);
    });

    it('fingerprints the canonical form: the same for a reformatted schema, different for another version', () => {
      const reformatted = compileSchema(JSON.parse(JSON.stringify(AVRO, null, 4)), 'x.avsc', 'avro');
      expect(reformatted.fingerprint).toBe(schema.fingerprint);
      expect(compileSchema(AVRO_V1, 'v1.avsc', 'avro').fingerprint).not.toBe(schema.fingerprint);
      expect(schema.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    });

    it('reads a container written with an older compatible version, resolving it to the current one', async () => {
      const body = await container(AVRO_V1, [
        { ...tx(), note: 'hello' },
        { ...tx({ tx_id: 't2' }), note: null },
      ]);
      const { records, writerFingerprint } = await decodeAvroContainer(body, AVRO);
      const filled = { merchant_name: null, merchant_category: null, city: null, country: null, channel: 'unknown' };
      expect(records).toEqual([
        { ...tx(), ...filled },
        { ...tx({ tx_id: 't2' }), ...filled },
      ]);
      expect(writerFingerprint).toBe(compileSchema(AVRO_V1, 'v1.avsc', 'avro').fingerprint);
    });

    it('refuses a container whose writer schema cannot be read with the reader schema, saying why', async () => {
      const incompatible = {
        ...AVRO,
        fields: (AVRO.fields as { name: string }[]).map((f) => (f.name === 'amount' ? { name: 'amount', type: 'string' } : f)),
      };
      const body = await container(incompatible, [{ ...tx(), amount: '12.50', channel: 'chip' }]);
      const err = await decodeAvroContainer(body, AVRO).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('TRIB_E_SCHEMA_INCOMPATIBLE');
      expect((err as TributaryError).message).toMatch(/cannot be read with the source schema/);
    });

    it('refuses a body that is not a container', async () => {
      await expect(decodeAvroContainer(Buffer.from('{"not":"avro"}'), AVRO)).rejects.toMatchObject({ code: 'TRIB_E_PARSE' });
    });
  });

  describe('Protobuf', () => {
    const schema = compileSchema(parseSchemaText(PROTO, 'protobuf'), 'transaction.proto', 'protobuf');

    it('decodes a JSON record to the message: declared fields only, enums by name', () => {
      expect(schema.check(tx({ channel: 'online', extra: true }))).toEqual({ record: { ...tx(), channel: 'online' } });
    });

    it('rejects a bad record naming the field and the expected type', () => {
      expect(schema.check(tx({ amount: 'twelve' }))).toEqual({
        problem: {
          field: 'amount',
          message: 'field "amount": "twelve" does not fit tributary.examples.payments.v2.Transaction (number expected)',
        },
        problems: [
          {
            field: 'amount',
            message: 'field "amount": "twelve" does not fit tributary.examples.payments.v2.Transaction (number expected)',
          },
        ],
      });
      expect(schema.check(tx({ channel: 'telepathy' }))).toMatchObject({
        problem: { field: 'channel', message: expect.stringContaining('enum') },
      });
    });

    it('reports a missing required field of a proto2 message', () => {
      const p2 = compileSchema(
        'syntax = "proto2"; message Card { required string card_id = 1; optional int32 limit = 2; }',
        'card.proto',
        'protobuf',
      );
      expect(p2.check({ limit: 5 })).toMatchObject({
        problem: { field: 'card_id', message: 'field "card_id" is missing (required by Card)' },
      });
    });

    it('reports every bad field of a record, each with its field', () => {
      const r = schema.check(tx({ amount: 'twelve', channel: 'telepathy', lat: 'north' }));
      expect('problems' in r && r.problems.map((p) => p.field)).toEqual(['lat', 'amount', 'channel']);
      expect(r).toMatchObject({
        problem: { field: 'lat', message: expect.stringMatching(/^3 problems: field "lat": "north" does not fit/) },
      });
      const p2 = compileSchema(
        'syntax = "proto2"; message Card { required string card_id = 1; required int32 limit = 2; optional string name = 3; }',
        'card.proto',
        'protobuf',
      );
      expect(p2.check({ limit: 'high', name: 7 })).toMatchObject({
        problems: [
          { field: 'card_id', message: 'field "card_id" is missing (required by Card)' },
          { field: 'limit', message: expect.stringContaining('"high"') },
          { field: 'name', message: expect.stringContaining('7') },
        ],
      });
    });

    it('needs `message` when the file defines several message types', () => {
      expect(() =>
        compileSchema('syntax = "proto3"; message A { string a = 1; } message B { string b = 1; }', 'x.proto', 'protobuf'),
      ).toThrow(/defines 2 message types \(A, B\): name one with `message`/);
      expect(
        compileSchema('syntax = "proto3"; message A { string a = 1; } message B { string b = 1; }', 'x.proto', 'protobuf', 'B').check({
          b: 'x',
        }),
      ).toEqual({
        record: { b: 'x' },
      });
    });

    it('decodes a body of length-delimited messages, and names the message where a truncated body breaks', () => {
      const type = protobufType(PROTO);
      const msgs = [tx(), tx({ tx_id: 't2', channel: 'chip' })].map((r) => type.encodeDelimited(type.fromObject(r)).finish());
      const body = Buffer.concat(msgs);
      expect(decodeProtobufDelimited(body, PROTO)).toEqual([tx(), tx({ tx_id: 't2', channel: 'chip' })]);
      expect(() => decodeProtobufDelimited(body.subarray(0, body.length - 3), PROTO)).toThrow(/invalid Protobuf body at message 2/);
    });
  });

  describe('JSON Schema', () => {
    it('passes a valid record through unchanged and names the failing field of a bad one', () => {
      const schema = compileSchema(JSON_SCHEMA, 'transaction.json', 'json_schema');
      expect(schema.check(tx())).toEqual({ record: tx() });
      expect(schema.check(tx({ card_id: 'nope' }))).toMatchObject({ problem: { field: 'card_id' } });
      expect(schema.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    });

    it('reports every bad field of a record, each with its field', () => {
      const schema = compileSchema(JSON_SCHEMA, 'transaction.json', 'json_schema');
      const r = schema.check(tx({ card_id: 'nope', amount: -1, currency: undefined }));
      expect('problems' in r && r.problems.map((p) => p.field).sort()).toEqual(['amount', 'card_id', 'currency']);
      expect(r).toMatchObject({ problem: { message: expect.stringMatching(/^3 problems: /) } });
    });

    it('caps the list at 20 and says how many more there were', () => {
      const properties = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, { type: 'integer' }]));
      const schema = compileSchema({ type: 'object', properties }, 'wide.json', 'json_schema');
      const r = schema.check(Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`f${i}`, 'x'])));
      expect(r).toMatchObject({ more: 5, problem: { message: expect.stringMatching(/^25 problems: .*; … and 5 more$/) } });
      expect('problems' in r && r.problems).toHaveLength(20);
    });
  });
});
