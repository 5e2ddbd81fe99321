/**
 * The KV-backed steps against a real nats-server: `dedupe` keeps one record per key across two
 * replicas racing and across a redelivery, and `enrich` finds reference rows that the transformer
 * stored from another dataset of the pipeline, those earlier in the same batch (source order, as
 * a CDC transaction brings them), and a row that arrives after a miss.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { DEFAULT_TOPOLOGY, ensureBuckets } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';
import { PipelineRunner } from '../src/pipeline-runner';
import { referenceKeys, storeReferences } from '../src/state/reference-store';
import type { StepServices } from '../src/steps/step';

const SPEC = `
pipeline: cards
sources:
  tx: { kind: push }
  card_feed: { kind: push }
datasets:
  cards:
    from: card_feed
    fields: { card_id: { type: string, required: true }, home_country: string, limit_eur: number }
  payments:
    from: tx
    fields: { tx_id: string, card_id: string, amount: number, home_country: string, limit_eur: number }
    steps:
      - dedupe: { key: [tx_id], within: 1h }
      - enrich: { from: { dataset: cards }, on: { card_id: card_id }, fields: { home_country: home_country, limit_eur: limit_eur }, on_miss: dead_letter }
`;

let nats: NatsServer;
let nc: NatsConnection;
let pipeline: Pipeline;
let services: StepServices;

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  await ensureBuckets(nc, DEFAULT_TOPOLOGY);
  const kvm = new Kvm(nc);
  services = { state: await kvm.open(BUCKETS.state), dedupe: await kvm.open(BUCKETS.dedupe) };
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-stateful-'));
  writeFileSync(path.join(dir, 'cards.yaml'), SPEC);
  pipeline = loadPipelineFile(path.join(dir, 'cards.yaml'));
});

afterAll(async () => {
  await nc?.close();
  await stopAll();
});

async function replica(): Promise<PipelineRunner> {
  const r = new PipelineRunner(pipeline, 'a-test-hmac-key-of-16+');
  await r.open(services);
  return r;
}

const tx = (id: string, card = 'c1'): Rec => ({ tx_id: id, card_id: card, amount: 10 });

describe('dedupe and enrich on JetStream KV', () => {
  beforeAll(async () => {
    const cards = [
      { card_id: 'c1', home_country: 'NL', limit_eur: 500 },
      { card_id: 'c2', home_country: 'FR', limit_eur: 900 },
    ];
    const r = await replica();
    const [res] = await r.run('card_feed', cards, 'cards-1');
    await storeReferences(services.state!, pipeline, referenceKeys(pipeline), 'cards', res!.records);
  });

  it('keeps exactly one record per key when two replicas process overlapping batches at once', async () => {
    const [a, b] = [await replica(), await replica()];
    const ids = Array.from({ length: 200 }, (_, i) => `race-${i}`);
    // Both batches carry every ID (in different orders): each ID must survive exactly once overall.
    const [ra, rb] = await Promise.all([
      a.run(
        'tx',
        ids.map((id) => tx(id)),
        'in-a',
      ),
      b.run(
        'tx',
        [...ids].reverse().map((id) => tx(id)),
        'in-b',
      ),
    ]);
    const kept = [...ra![0]!.records, ...rb![0]!.records].map((x) => x.tx_id as string);
    expect(kept.sort()).toEqual([...ids].sort());
    expect(ra![0]!.filtered + rb![0]!.filtered).toBe(200);
  });

  it('keeps the same records when a batch is redelivered, and drops a later repeat from another message', async () => {
    const r = await replica();
    const batch = [tx('t1'), tx('t2'), tx('t1')];
    const first = await r.run('tx', batch, 'in-1');
    const again = await r.run('tx', batch, 'in-1');
    expect(first[0]!.records.map((x) => x.tx_id)).toEqual(['t1', 't2']);
    expect(again[0]!.records).toEqual(first[0]!.records);
    const other = await r.run('tx', [tx('t2'), tx('t3')], 'in-2');
    expect(other[0]!.records.map((x) => x.tx_id)).toEqual(['t3']);
    expect(other[0]!.filtered).toBe(1);
  });

  it('enriches from a dataset kept in KV, and dead-letters a miss naming the key', async () => {
    const r = await replica();
    const [res] = await r.run('tx', [tx('e1', 'c2'), tx('e2', 'nope')], 'in-e');
    expect(res!.records).toEqual([{ tx_id: 'e1', card_id: 'c2', amount: 10, home_country: 'FR', limit_eur: 900 }]);
    expect(res!.failures).toHaveLength(1);
    expect(res!.failures[0]!.index).toBe(1);
    expect(res!.failures[0]!.error.message).toContain('no reference row');
  });
});

// One CDC-like source whose batches mix tables; the enriching dataset comes first in the spec.
const CDC_SPEC = (onMiss: string) => `
pipeline: cdc_${onMiss}
sources:
  db: { kind: push }
datasets:
  staff_rows:
    from: db
    fields: { staff_id: { type: integer, required: true }, department_id: integer, department_name: string }
    steps:
      - filter: "_table = 'staff'"
      - drop: [_table]
      - enrich: { from: { dataset: department_rows }, on: { department_id: department_id }, fields: { department_name: department_name }, on_miss: ${onMiss}, cache_ttl: 60s }
  department_rows:
    from: db
    fields: { department_id: { type: integer, required: true }, department_name: string }
    steps:
      - filter: "_table = 'department'"
      - drop: [_table]
`;

describe('enrich sees reference rows of the same batch, in source order', () => {
  async function cdcRunner(onMiss: string): Promise<{ runner: PipelineRunner; p: Pipeline }> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-enrich-'));
    writeFileSync(path.join(dir, 'cdc.yaml'), CDC_SPEC(onMiss));
    const p = loadPipelineFile(path.join(dir, 'cdc.yaml'));
    const runner = new PipelineRunner(p, 'a-test-hmac-key-of-16+');
    await runner.open(services);
    return { runner, p };
  }
  /** Runs a batch and stores its reference rows in KV afterwards, as the transformer does before acking. */
  async function transform(runner: PipelineRunner, p: Pipeline, records: Rec[], id: string) {
    const results = await runner.run('db', records, id);
    for (const r of results) await storeReferences(services.state!, p, referenceKeys(p), r.dataset, r.records);
    return new Map(results.map((r) => [r.dataset, r]));
  }
  const dept = (id: number, name: string): Rec => ({ _table: 'department', department_id: id, department_name: name });
  const staff = (id: number, department: number): Rec => ({ _table: 'staff', staff_id: id, department_id: department });

  it('finds a department that came earlier in the batch (on_miss: retry no longer fails), never one that comes later', async () => {
    const { runner, p } = await cdcRunner('retry');
    const out = await transform(runner, p, [dept(1, 'Sales'), staff(10, 1), dept(1, 'Sales & Marketing'), staff(11, 1)], 'tx-1');
    // Each staff row gets the department version before it in the transaction.
    expect(out.get('staff_rows')!.records).toEqual([
      { staff_id: 10, department_id: 1, department_name: 'Sales' },
      { staff_id: 11, department_id: 1, department_name: 'Sales & Marketing' },
    ]);
    const keep = await cdcRunner('keep');
    const later = await transform(keep.runner, keep.p, [staff(20, 2), dept(2, 'Purchasing')], 'tx-2');
    // The department comes after the staff row in source order: not seen (kept with nulls) ...
    expect(later.get('staff_rows')!.records).toEqual([{ staff_id: 20, department_id: 2, department_name: null }]);
    // ... and retry waits for it the same way.
    await expect(runner.run('db', [staff(21, 3), dept(3, 'Design')], 'tx-3')).rejects.toThrow(/no reference row/);
  });

  it('does not let a cached miss hide a department that arrives in a later batch', async () => {
    const { runner, p } = await cdcRunner('keep');
    const first = await transform(runner, p, [staff(30, 4)], 'tx-4');
    expect(first.get('staff_rows')!.records).toEqual([{ staff_id: 30, department_id: 4, department_name: null }]);
    await transform(runner, p, [dept(4, 'Finance')], 'tx-5');
    // Well inside cache_ttl (60 s): the miss was not cached, the row is found.
    const next = await transform(runner, p, [staff(31, 4)], 'tx-6');
    expect(next.get('staff_rows')!.records).toEqual([{ staff_id: 31, department_id: 4, department_name: 'Finance' }]);
  });
});
