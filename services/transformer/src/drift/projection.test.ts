/**
 * Schema drift at the projection, per `on_drift` policy: a record with a field the spec does not
 * know, one without a required field and one with a retyped value, through the PipelineRunner.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { PipelineRunner, type DatasetResult } from '../pipeline-runner';

const YAML = (policy: string) => `
pipeline: shop
sources:
  orders: { kind: push }
datasets:
  lines:
    from: orders
    ${policy ? `on_drift: ${policy}` : ''}
    fields:
      id: { type: integer, required: true }
      qty: integer
      note: string
    steps:
      - drop: [internal]
tables:
  lines: { from: lines, mode: upsert, key: [id] }
`;

const good: Rec = { id: 1, qty: 2, note: 'a', internal: 'x' };
const added: Rec = { id: 2, qty: 3, note: 'b', colour: 'red' };
const missing: Rec = { qty: 4, note: 'c' };
const retyped: Rec = { id: 4, qty: 'four', note: 'd' };

let dir: string;
beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'trib-drift-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(policy: string): Promise<DatasetResult> {
  const file = path.join(dir, `${policy || 'unset'}.yaml`);
  writeFileSync(file, YAML(policy));
  const runner = new PipelineRunner(loadPipelineFile(file), 'a-test-hmac-key-of-16+');
  const [r] = await runner.run('orders', [good, added, missing, retyped]);
  return r!;
}

const drift = (r: DatasetResult) =>
  [...(r.drift?.values() ?? [])].map((e) => [e.field, e.kind, e.expected ?? null, e.seen, e.action, e.count]).sort();

describe('on_drift at the projection', () => {
  it('freeze: every record that does not fit is dead-lettered naming the field, the new field included', async () => {
    const r = await run('freeze');
    expect(r.records).toEqual([{ id: 1, qty: 2, note: 'a' }]);
    expect(r.failures.map((f) => [f.index, f.error.code, f.error.location.field])).toEqual([
      [1, 'TRIB_E_VALIDATION', 'colour'],
      [2, 'TRIB_E_VALIDATION', 'id'],
      [3, 'TRIB_E_VALIDATION', 'qty'],
    ]);
    expect(r.failures[0]!.error.message).toBe('field "colour" is not declared in dataset "lines" (on_drift: freeze)');
    expect(drift(r)).toEqual([
      ['colour', 'new', null, 'string', 'dead_lettered', 1],
      ['id', 'missing', 'integer', 'missing', 'dead_lettered', 1],
      ['qty', 'type_changed', 'integer', 'string', 'dead_lettered', 1],
    ]);
  });

  it('freeze names every reason of a record that drifted in several fields', async () => {
    const file = path.join(dir, 'several.yaml');
    writeFileSync(file, YAML('freeze'));
    const runner = new PipelineRunner(loadPipelineFile(file), 'a-test-hmac-key-of-16+');
    const [r] = await runner.run('orders', [{ qty: 'x', colour: 'red' }]);
    const e = r!.failures[0]!.error;
    expect(e.message).toMatch(/^3 fields do not fit dataset "lines": .*"id".*"qty".*"colour".*\(on_drift: freeze\)$/);
    expect((e.details as { field: string; kind: string }[]).map((d) => [d.field, d.kind])).toEqual([
      ['id', 'missing'],
      ['qty', 'type_changed'],
      ['colour', 'new'],
    ]);
  });

  it('discard_value: the new and the mistyped value are dropped and the records go on; a missing key is still dead-lettered', async () => {
    const r = await run('discard_value');
    expect(r.records).toEqual([
      { id: 1, qty: 2, note: 'a' },
      { id: 2, qty: 3, note: 'b' },
      { id: 4, qty: null, note: 'd' },
    ]);
    expect(r.failures.map((f) => [f.index, f.error.location.field])).toEqual([[2, 'id']]);
    expect(drift(r)).toEqual([
      ['colour', 'new', null, 'string', 'value_dropped', 1],
      ['id', 'missing', 'integer', 'missing', 'dead_lettered', 1],
      ['qty', 'type_changed', 'integer', 'string', 'value_dropped', 1],
    ]);
  });

  it('discard_row: the drifted records are dropped, counted as filtered', async () => {
    const r = await run('discard_row');
    expect(r.records).toEqual([{ id: 1, qty: 2, note: 'a' }]);
    expect(r.failures).toEqual([]);
    expect(r.filtered).toBe(3);
    expect(drift(r).map((d) => d[4])).toEqual(['row_dropped', 'row_dropped', 'row_dropped']);
    expect([...r.drift!.values()].find((e) => e.field === 'colour')!.sample).toEqual(added);
  });

  it('evolve: the new field travels on with its value and the column type the loader gives it; missing and retyped are dead-lettered', async () => {
    const r = await run('evolve');
    expect(r.records).toEqual([
      { id: 1, qty: 2, note: 'a' },
      { id: 2, qty: 3, note: 'b', colour: 'red' },
    ]);
    expect(r.failures.map((f) => f.error.location.field)).toEqual(['id', 'qty']);
    expect([...r.drift!.values()].find((e) => e.field === 'colour')).toMatchObject({ action: 'column_added', columnType: 'text' });
  });

  it('unset: missing and retyped are dead-lettered as under freeze; a new field is left out and reported, not dead-lettered', async () => {
    const r = await run('');
    expect(r.records).toEqual([
      { id: 1, qty: 2, note: 'a' },
      { id: 2, qty: 3, note: 'b' },
    ]);
    expect(r.failures.map((f) => f.error.location.field)).toEqual(['id', 'qty']);
    expect(drift(r)).toContainEqual(['colour', 'new', null, 'string', 'value_dropped', 1]);
  });

  it('knows the fields its steps name (internal is dropped on purpose) and metadata fields (_table)', async () => {
    const r = await run('freeze');
    expect([...r.drift!.keys()].some((k) => k.startsWith('internal'))).toBe(false);
    const file = path.join(dir, 'meta.yaml');
    writeFileSync(file, YAML('freeze'));
    const runner = new PipelineRunner(loadPipelineFile(file), 'a-test-hmac-key-of-16+');
    const [m] = await runner.run('orders', [{ id: 9, _table: 'public.lines', _op: 'insert' }]);
    expect(m!.failures).toEqual([]);
    expect(m!.drift).toBeUndefined();
  });
});
