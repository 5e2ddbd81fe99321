import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from './load-pipeline';
import { resnapshotTargets, sourceTableName } from './resnapshot-targets';

const ROOT = path.resolve(__dirname, '../../../..');

function pipeline(yaml: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-resnap-'));
  writeFileSync(path.join(dir, 'p.yaml'), yaml);
  return loadPipelineFile(path.join(dir, 'p.yaml'));
}

const SPEC = `
pipeline: shop
connections:
  db: { kind: postgres, url: env:DB_URL }
sources:
  db:
    kind: postgres_cdc
    connection: db
    tables: [orders, public.items, audit.log]
datasets:
  orders:
    from: db
    fields: { id: { type: integer, required: true }, total: number, at: timestamp }
    steps:
      - filter: "_table = 'public.orders'"
  items:
    from: db
    fields: { id: { type: integer, required: true }, qty: integer }
    steps:
      - filter: '_table in ["public.items", "audit.log"] and _op != "delete"'
  everything:
    from: db
    fields: { id: { type: integer, required: true } }
  big_orders:
    from: orders
    fields: { id: { type: integer, required: true }, total: number }
    steps:
      - filter: 'total > 100'
tables:
  orders: { from: orders, mode: upsert, key: [id] }
  big_orders: { from: big_orders, mode: append }
  items: { from: items, mode: append, key: [id] }
  items_history: { from: items, mode: scd2, key: [id] }
  everything: { from: everything, mode: upsert, key: [id] }
`;

describe('resnapshotTargets', () => {
  const p = pipeline(SPEC);

  it("follows the table's rows through the datasets whose _table filters keep them, and datasets reading those", () => {
    expect(resnapshotTargets(p, 'db', 'orders')).toEqual([
      { table: 'orders', dataset: 'orders', mode: 'upsert' },
      {
        table: 'big_orders',
        dataset: 'big_orders',
        mode: 'append',
        refused: 'append without a key would get every re-read row a second time',
      },
      { table: 'everything', dataset: 'everything', mode: 'upsert' },
    ]);
  });

  it('refuses scd2 and takes an append table with a key; a filter quoting other tables excludes a dataset', () => {
    expect(resnapshotTargets(p, 'db', 'audit.log')).toEqual([
      { table: 'items', dataset: 'items', mode: 'append' },
      {
        table: 'items_history',
        dataset: 'items',
        mode: 'scd2',
        refused: 'scd2 would count the re-read rows as new events (re-read only into upsert tables)',
      },
      { table: 'everything', dataset: 'everything', mode: 'upsert' },
    ]);
  });

  it('names tables as the source does', () => {
    expect(sourceTableName('Orders')).toBe('public.orders');
    expect(sourceTableName('audit.Log')).toBe('audit.log');
  });

  it('on the shipped CDC sales pipeline: currency reaches only an upsert table, staff an scd2 one', () => {
    const sales = loadPipelineFile(path.join(ROOT, 'pipelines/variants/sales-cdc.yaml'));
    expect(resnapshotTargets(sales, 'sales_db', 'currency')).toEqual([{ table: 'dim_currency', dataset: 'currency_rows', mode: 'upsert' }]);
    expect(resnapshotTargets(sales, 'sales_db', 'staff').map((t) => [t.table, t.mode, Boolean(t.refused)])).toEqual([
      ['dim_staff', 'scd2', true],
    ]);
  });
});
