/**
 * An incompatible schema change stops only that table: the loader dead-letters its records with
 * TRIB_E_SCHEMA_INCOMPATIBLE while the other tables fed by the same dataset go on loading.
 */
import { createLogger } from '@tributary/runtime/logger';
import { stopAll } from '@tributary/testkit';
import { Registry } from 'prom-client';
import { BatchLoader, type RejectedRow } from '../src/batch-loader';
import { blockedTables } from '../src/blocked-tables';
import { message, startWarehouse, type Warehouse } from './warehouse-fixture';

const SPEC = `
pipeline: shop
sources:
  in: { kind: push }
datasets:
  orders:
    from: in
    fields: { order_id: { type: string, required: true }, amount: number }
tables:
  fact_order: { from: orders, mode: append }
  dim_order: { from: orders, mode: upsert, key: [order_id] }
`;

let w: Warehouse;
beforeAll(async () => {
  w = await startWarehouse(SPEC);
  // Someone changed the column's type by hand: the spec's number no longer fits.
  await w.pool.query('ALTER TABLE warehouse.dim_order ALTER COLUMN amount TYPE text');
});
afterAll(async () => {
  await w?.pool.end();
  await stopAll();
});

it('dead-letters the records of a blocked table and loads the others', async () => {
  const registry = new Registry();
  const blocked = await blockedTables(w.pool, w.pipeline, registry, createLogger('test', 'silent'));
  expect([...blocked.keys()]).toEqual(['dim_order']);
  expect(blocked.get('dim_order')).toMatch(/column dim_order\.amount is text in the warehouse but double precision/);
  expect(await registry.getSingleMetricAsString('tributary_table_blocked')).toMatch(/table="dim_order"} 1/);

  const rejected: RejectedRow[] = [];
  const loader = new BatchLoader(w.pool, w.pipeline, blocked);
  await loader.load(
    [
      message('m1', 'orders', [
        { order_id: 'a', amount: 1 },
        { order_id: 'b', amount: 2 },
      ]),
    ],
    async (rows) => {
      rejected.push(...rows);
    },
  );
  expect((await w.pool.query('SELECT count(*)::int AS n FROM warehouse.fact_order')).rows[0].n).toBe(2);
  expect((await w.pool.query('SELECT count(*)::int AS n FROM warehouse.dim_order')).rows[0].n).toBe(0);
  expect(rejected.map((r) => [r.table.name, r.index, r.error.code])).toEqual([
    ['dim_order', 0, 'TRIB_E_SCHEMA_INCOMPATIBLE'],
    ['dim_order', 1, 'TRIB_E_SCHEMA_INCOMPATIBLE'],
  ]);
  const ledger = (await w.pool.query('SELECT table_name, records, written FROM tributary.load_ledger ORDER BY 1')).rows;
  expect(ledger).toEqual([
    { table_name: 'dim_order', records: 0, written: 0 },
    { table_name: 'fact_order', records: 2, written: 2 },
  ]);
});
