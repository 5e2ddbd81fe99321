import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { PipelineRunner } from '../pipeline-runner';

const SCHEMAS = path.resolve(__dirname, '../../../../pipelines/schemas');

/** One dataset per schema kind, all fed by one source. */
const SPEC = `
pipeline: payments
sources:
  tx: { kind: push }
datasets:
  by_json:
    from: tx
    fields: { tx_id: string, amount: number }
    steps: [{ validate: { schema: transaction.json } }]
  by_avro:
    from: tx
    fields: { tx_id: string, amount: number, channel: string, at: timestamp }
    steps: [{ validate: { schema: transaction.avsc } }]
  by_proto:
    from: tx
    fields: { tx_id: string, amount: number, channel: string }
    steps: [{ validate: { schema: transaction.proto, message: tributary.examples.payments.v2.Transaction } }]
  by_kind:
    from: tx
    fields: { tx_id: string }
    steps: [{ validate: { schema: transaction-avro-schema.txt, kind: avro } }]
`;

let runner: PipelineRunner;
beforeAll(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-validate-'));
  for (const f of ['transaction.json', 'transaction.avsc', 'transaction.proto'])
    writeFileSync(path.join(dir, f), readFileSync(path.join(SCHEMAS, f)));
  writeFileSync(path.join(dir, 'transaction-avro-schema.txt'), readFileSync(path.join(SCHEMAS, 'transaction.avsc')));
  writeFileSync(path.join(dir, 'payments.yaml'), SPEC);
  runner = new PipelineRunner(loadPipelineFile(path.join(dir, 'payments.yaml')), 'a-test-hmac-key-of-16+');
});

const good: Rec = {
  tx_id: 't1',
  card_id: 'C000001',
  merchant_id: 'M0001',
  lat: 52.37,
  lon: 4.9,
  amount: 12.5,
  currency: 'EUR',
  channel: 'online',
  at: '2026-03-01T09:00:00Z',
};

describe('validate with JSON Schema, Avro and Protobuf', () => {
  it('passes a good record through every kind (Avro and Protobuf decoding it) and names each schema by fingerprint', async () => {
    const results = await runner.run('tx', [good]);
    const by = Object.fromEntries(results.map((r) => [r.dataset, r]));
    expect(by.by_json!.records).toEqual([{ tx_id: 't1', amount: 12.5 }]);
    expect(by.by_avro!.records).toEqual([{ tx_id: 't1', amount: 12.5, channel: 'online', at: '2026-03-01T09:00:00.000Z' }]);
    expect(by.by_proto!.records).toEqual([{ tx_id: 't1', amount: 12.5, channel: 'online' }]);
    expect(by.by_json!.fingerprint).toMatch(/^json_schema:[0-9a-f]{16}$/);
    expect(by.by_avro!.fingerprint).toMatch(/^avro:[0-9a-f]{16}$/);
    expect(by.by_proto!.fingerprint).toMatch(/^protobuf:[0-9a-f]{16}$/);
    // An explicit kind reads a file whatever its extension: the same Avro schema, the same fingerprint.
    expect(by.by_kind!.fingerprint).toBe(by.by_avro!.fingerprint);
  });

  it.each([
    ['by_json', /transaction\.json: .*amount/],
    ['by_avro', /^transaction\.avsc: field "amount": "a lot" is not a valid Avro double$/],
    [
      'by_proto',
      /^transaction\.proto: field "amount": "a lot" does not fit tributary\.examples\.payments\.v2\.Transaction \(number expected\)$/,
    ],
  ])('%s dead-letters a bad record with the field and the reason', async (dataset, reason) => {
    const results = await runner.run('tx', [good, { ...good, tx_id: 't2', amount: 'a lot' }]);
    const r = results.find((x) => x.dataset === dataset)!;
    expect(r.records.map((x) => x.tx_id)).toEqual(['t1']);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.index).toBe(1);
    expect(r.failures[0]!.error.code).toBe('TRIB_E_VALIDATION');
    expect(r.failures[0]!.error.location?.field).toBe('amount');
    expect(r.failures[0]!.error.message).toMatch(reason);
  });

  it.each(['by_json', 'by_avro', 'by_proto'])('%s dead-letters a record with three bad fields naming all three', async (dataset) => {
    const results = await runner.run('tx', [{ ...good, tx_id: 't3', amount: 'a lot', lat: 'north', currency: 7 }]);
    const f = results.find((x) => x.dataset === dataset)!.failures[0]!;
    expect(f.error.message).toMatch(/: 3 problems: /);
    expect((f.error.details as { field: string }[]).map((d) => d.field).sort()).toEqual(['amount', 'currency', 'lat']);
  });
});
