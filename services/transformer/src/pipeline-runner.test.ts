import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { PipelineRunner, type DatasetResult } from './pipeline-runner';

const KEY = 'a-test-hmac-key-of-16+';
const TRAFFIC = path.resolve(__dirname, '../../../pipelines/traffic.yaml');

const passage = (over: Rec = {}): Rec => ({
  event_id: 'e-1',
  gantry_id: 'G007',
  plate: 'AB12 CDE',
  speed_mph: 50,
  lane: 2,
  passengers: 1,
  observed_at: '2025-01-02T03:04:05+01:00',
  ...over,
});

function only(results: DatasetResult[], dataset: string): DatasetResult {
  const r = results.filter((x) => x.dataset === dataset);
  expect(r).toHaveLength(1);
  return r[0]!;
}

describe('PipelineRunner on pipelines/traffic.yaml', () => {
  const pipeline = loadPipelineFile(TRAFFIC);
  const runner = new PipelineRunner(pipeline, KEY);

  it('projects a valid passage onto exactly the declared fields, converting mph to km/h', async () => {
    const [r] = await runner.run('gantry', [passage({ speed_mph: 62.3 })]);
    expect(r!.dataset).toBe('passages');
    expect(r!.failures).toEqual([]);
    expect(r!.filtered).toBe(0);
    expect(r!.records).toHaveLength(1);
    const out = r!.records[0]!;
    expect(Object.keys(out).sort()).toEqual(['event_id', 'gantry_id', 'lane', 'observed_at', 'passengers', 'plate', 'speed_kmh']);
    expect(out).toMatchObject({ event_id: 'e-1', gantry_id: 'G007', lane: 2, passengers: 1, observed_at: '2025-01-02T02:04:05.000Z' });
    expect(out.speed_kmh).toBe(Math.round(62.3 * 1.609344 * 10) / 10);
    expect(out.speed_kmh).toBe(100.3);
  });

  it('replaces the plate with a 32-hex HMAC-SHA256 of it under the configured key', async () => {
    const [r] = await runner.run('gantry', [passage(), passage({ event_id: 'e-2' }), passage({ event_id: 'e-3', plate: 'ZZ99 ZZZ' })]);
    const plates = r!.records.map((x) => x.plate as string);
    expect(plates[0]).toMatch(/^[0-9a-f]{32}$/);
    expect(plates[0]).not.toContain('AB12');
    expect(plates[0]).toBe(createHmac('sha256', KEY).update('AB12 CDE').digest('hex').slice(0, 32));
    expect(plates[1]).toBe(plates[0]);
    expect(plates[2]).not.toBe(plates[0]);
  });

  it('gives a different pseudonym for the same plate under a different key', async () => {
    const other = new PipelineRunner(pipeline, 'another-hmac-key-of-16+');
    const [a] = await runner.run('gantry', [passage()]);
    const [b] = await other.run('gantry', [passage()]);
    expect(b!.records[0]!.plate).toMatch(/^[0-9a-f]{32}$/);
    expect(b!.records[0]!.plate).not.toBe(a!.records[0]!.plate);
  });

  it('counts a stationary reading (speed 0) as filtered, not as a record or a failure', async () => {
    const [r] = await runner.run('gantry', [passage({ speed_mph: 0 }), passage({ event_id: 'e-2' })]);
    expect(r!.filtered).toBe(1);
    expect(r!.failures).toEqual([]);
    expect(r!.records.map((x) => x.event_id)).toEqual(['e-2']);
  });

  it('reports a record failing the schema with its batch index, TRIB_E_VALIDATION and the field', async () => {
    const bad = passage({ event_id: 'e-2', gantry_id: 'gate-7' });
    const [r] = await runner.run('gantry', [passage(), bad, passage({ event_id: 'e-3' })]);
    expect(r!.records.map((x) => x.event_id)).toEqual(['e-1', 'e-3']);
    expect(r!.failures).toHaveLength(1);
    const f = r!.failures[0]!;
    expect(f.index).toBe(1);
    expect(f.record).toBe(bad);
    expect(f.error.code).toBe('TRIB_E_VALIDATION');
    expect(f.error.location.field).toBe('gantry_id');
  });

  it('skips the leading validate step only for a batch ingest checked against the very same schema', async () => {
    const bad = passage({ event_id: 'e-2', gantry_id: 'gate-7' });
    const validate = runner['datasets'].find((d) => d.def.name === 'passages')!.steps[0]!;
    expect(validate.kind).toBe('validate');
    // The raw message's fingerprint header names the schema ingest checked every record against.
    const [trusted] = await runner.run('gantry', [bad], 'in-1', { schema: validate.fingerprint });
    expect(trusted!.failures).toEqual([]);
    expect(trusted!.records.map((x) => x.gantry_id)).toEqual(['gate-7']);
    expect(trusted!.fingerprint).toBe(validate.fingerprint);
    // Another schema, or none (a DLQ replay carries none), and the step runs.
    for (const schema of [undefined, 'json:0123456789abcdef']) {
      const [r] = await runner.run('gantry', [bad], 'in-2', { schema });
      expect(r!.records).toEqual([]);
      expect(r!.failures.map((f) => f.error.location.field)).toEqual(['gantry_id']);
    }
  });

  it('runs nothing for a source no dataset reads', async () => {
    expect(runner.feeds('gantry')).toBe(true);
    expect(runner.feeds('unknown')).toBe(false);
    await expect(runner.run('unknown', [passage()])).resolves.toEqual([]);
  });
});

// `big_orders` is declared before the dataset it reads, to show the runner orders by dependency.
const SHOP_YAML = `
pipeline: shop
sources:
  orders:
    kind: push
datasets:
  big_orders:
    from: priced
    fields:
      id: string
      total: number
    steps:
      - filter: "total >= 100"
  renamed:
    from: orders
    fields:
      order_id: string
      amount: number
    steps:
      - rename: { id: order_id, cost: amount }
  priced:
    from: orders
    fields:
      id: { type: string, required: true }
      qty: integer
      total: number
    steps:
      - cast: { qty: integer }
      - map:
          total: "qty * cost"
  trimmed:
    from: orders
    fields:
      id: string
      secret: string
      has_secret: boolean
    steps:
      - drop: [secret]
      - map:
          has_secret: "$exists(secret)"
tables:
  dim_order:
    from: renamed
    mode: upsert
    key: [order_id]
`;

describe('PipelineRunner on a pipeline with every step kind', () => {
  let dir: string;
  let runner: PipelineRunner;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-runner-'));
    writeFileSync(path.join(dir, 'shop.yaml'), SHOP_YAML);
    runner = new PipelineRunner(loadPipelineFile(path.join(dir, 'shop.yaml')), KEY);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const order = (over: Rec = {}): Rec => ({ id: 'o-1', cost: 30, qty: '2', secret: 's3cret', ...over });

  it('renames fields, so the projection finds them under their new names', async () => {
    const r = only(await runner.run('orders', [order()]), 'renamed');
    expect(r.records).toEqual([{ order_id: 'o-1', amount: 30 }]);
  });

  it('requires a table key field even when not declared required: missing after steps, the record fails naming it', async () => {
    const r = only(await runner.run('orders', [order({ id: undefined })]), 'renamed');
    expect(r.records).toEqual([]);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.error.code).toBe('TRIB_E_VALIDATION');
    expect(r.failures[0]!.error.location.field).toBe('order_id');
    expect(r.failures[0]!.error.message).toContain('order_id');
  });

  it('fails a record whose declared-required field is missing, naming the field', async () => {
    const r = only(await runner.run('orders', [order({ id: undefined })]), 'priced');
    expect(r.failures.map((f) => [f.index, f.error.code, f.error.location.field])).toEqual([[0, 'TRIB_E_VALIDATION', 'id']]);
  });

  it('casts fields before later steps see them, and dead-letters a value that cannot be cast, naming the field', async () => {
    const r = only(await runner.run('orders', [order(), order({ id: 'o-2', qty: 'three' })]), 'priced');
    expect(r.records).toEqual([{ id: 'o-1', qty: 2, total: 60 }]);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.index).toBe(1);
    expect(r.failures[0]!.error.code).toBe('TRIB_E_VALIDATION');
    expect(r.failures[0]!.error.location.field).toBe('qty');
  });

  it('dead-letters a record whose map expression fails with TRIB_E_STEP naming the step', async () => {
    const r = only(await runner.run('orders', [order({ cost: 'thirty' })]), 'priced');
    expect(r.records).toEqual([]);
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]!.error.code).toBe('TRIB_E_STEP');
    expect(r.failures[0]!.error.message).toContain('datasets.priced.steps[1].map.total');
  });

  it('drops fields, so later steps and the projection no longer see them', async () => {
    const r = only(await runner.run('orders', [order()]), 'trimmed');
    expect(r.records).toEqual([{ id: 'o-1', secret: null, has_secret: false }]);
  });

  it("runs a dataset that reads another dataset in the same pass, on that dataset's output only", async () => {
    const results = await runner.run('orders', [order({ id: 'small' }), order({ id: 'big', qty: '5' }), order({ id: 'bad', qty: 'x' })]);
    const names = results.map((r) => r.dataset);
    expect(names.indexOf('big_orders')).toBeGreaterThan(names.indexOf('priced'));
    const big = only(results, 'big_orders');
    expect(big.records).toEqual([{ id: 'big', total: 150 }]);
    expect(big.filtered).toBe(1);
    expect(big.failures).toEqual([]);
  });
});

const CDC_YAML = `
pipeline: oltp
sources:
  db: { kind: push }
datasets:
  orders:
    from: db
    fields: { id: { type: integer, required: true }, total: number }
    steps:
      - filter: "_table = 'public.orders'"
      - drop: [_table]
  lines:
    from: db
    fields: { id: { type: integer, required: true }, order_id: integer }
    steps:
      - filter: "_table = 'public.lines'"
      - drop: [_table]
      - map: { order_id: '$number(order_id)' }
tables:
  fact_order: { from: orders, mode: upsert, key: [id] }
  fact_line: { from: lines, mode: upsert, key: [id] }
`;

describe('PipelineRunner on one source feeding a dataset per table (CDC)', () => {
  let dir: string;
  let runner: PipelineRunner;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-runner-'));
    writeFileSync(path.join(dir, 'oltp.yaml'), CDC_YAML);
    runner = new PipelineRunner(loadPipelineFile(path.join(dir, 'oltp.yaml')), KEY);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts each record once for the pipeline: what one dataset filters because another took it is counted elsewhere', async () => {
    const input: Rec[] = [
      { _table: 'public.orders', id: 1, total: 10 },
      { _table: 'public.lines', id: 1, order_id: 1 },
      { _table: 'public.lines', id: 2, order_id: 'one' }, // dead-lettered by lines
      { _table: 'public.staff', id: 7 }, // no dataset takes it: filtered, once
      { _table: 'public.lines', id: 3, order_id: 1 },
    ];
    const results = await runner.run('db', input);
    const orders = only(results, 'orders');
    const lines = only(results, 'lines');
    // Per dataset, as before: every input record is kept, filtered or dead-lettered.
    expect([orders.records.length, orders.filtered, orders.failures.length]).toEqual([1, 4, 0]);
    expect([lines.records.length, lines.filtered, lines.failures.length]).toEqual([2, 2, 1]);
    // The record no dataset took counts as filtered by the first dataset only.
    expect(orders.elsewhere).toBe(3);
    expect(lines.elsewhere).toBe(2);
    // For the pipeline: accepted = kept + filtered + dead-lettered, each record once.
    const filtered = results.reduce((s, r) => s + r.filtered - r.elsewhere, 0);
    const kept = results.reduce((s, r) => s + r.records.length, 0);
    const dead = results.reduce((s, r) => s + r.failures.length, 0);
    expect([kept, filtered, dead]).toEqual([3, 1, 1]);
    expect(kept + filtered + dead).toBe(input.length);
  });
});
