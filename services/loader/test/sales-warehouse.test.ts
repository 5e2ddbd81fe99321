/**
 * The shipped sales warehouse (pipelines/sales.yaml) built from generated data through the
 * loader: scd2 dimensions, the accumulating order fact with lookups (one counterparty arriving
 * late, as an inferred member), the generated calendar, the SQL models and checks, and the
 * analytical queries of docs/queries checked against answers computed here from the data.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BOOKKEEPING_DDL } from '@tributary/warehouse/bookkeeping';
import { checkCommand, expandChecks, runChecks } from '@tributary/warehouse/checks';
import { ensureWarehouse } from '@tributary/warehouse/ensure-warehouse';
import { runModels } from '@tributary/warehouse/models';
import { loadPipelineFile, type Pipeline } from '@tributary/contract/spec';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Pool } from 'pg';
import { generateSales } from '../../../pipelines/sales/generate-sales';
import { BatchLoader } from '../src/batch-loader';
import { message, noRejects } from './warehouse-fixture';

const ROOT = path.resolve(__dirname, '../../..');
type R = Record<string, any>;

let pg: PostgresServer;
let pool: Pool;
let url: string;
let pipeline: Pipeline;
const data = generateSales({ seed: 7, orders: 400 });

beforeAll(async () => {
  pg = await PostgresServer.start();
  url = await pg.createDatabase('sales');
  // Dates of timestamps (created_at::date) are taken in the session time zone: pin it.
  pool = new Pool({ connectionString: url, max: 4, options: '-c timezone=UTC' });
  pool.on('error', () => undefined); // idle connections cut when the server stops at the end
  pipeline = loadPipelineFile(path.join(ROOT, 'pipelines/sales.yaml'));
  await pool.query(BOOKKEEPING_DDL);
  const c = await pool.connect();
  const w = await ensureWarehouse(c, pipeline);
  c.release();
  expect(w.stopped).toEqual([]);

  const loader = new BatchLoader(pool, pipeline);
  const send = async (dataset: string, records: R[], tag: string) => {
    for (let i = 0; i < records.length; i += 60) {
      const msgs = [
        message(`${tag}-${i}`, dataset, records.slice(i, i + 30)),
        message(`${tag}-${i}b`, dataset, records.slice(i + 30, i + 60)),
      ];
      await loader.load(
        msgs.filter((m) => m.records.length),
        noRejects,
      );
    }
  };
  const late = (r: R) => r.counterparty_id === 1;
  await send('staff_rows', data.staff, 'staff');
  await send('address_rows', data.address, 'address');
  await send('design_rows', data.design, 'design');
  await send('currency_rows', data.currency, 'currency');
  await send(
    'counterparty_rows',
    data.counterparty.filter((r) => !late(r)),
    'cp',
  );
  await send('sales_order_events', data.sales_order, 'orders');
  await send('counterparty_rows', data.counterparty.filter(late), 'cp-late');
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await stopAll();
});

/** Each order merged as the accumulating rules say. */
function orders(): R[] {
  const byId = new Map<number, R[]>();
  for (const e of data.sales_order as R[]) byId.set(e.sales_order_id, [...(byId.get(e.sales_order_id) ?? []), e]);
  return [...byId.values()].map((evs) => {
    const sorted = [...evs].sort((a, b) => a.last_updated.localeCompare(b.last_updated));
    const latest = (k: string) => [...sorted].reverse().find((e) => e[k] != null)?.[k] ?? null;
    return {
      ...Object.fromEntries(
        [
          'staff_id',
          'counterparty_id',
          'units_sold',
          'unit_price',
          'currency_id',
          'design_id',
          'agreed_delivery_date',
          'agreed_delivery_location_id',
        ].map((k) => [k, latest(k)]),
      ),
      sales_order_id: evs[0]!.sales_order_id,
      created_at: sorted
        .map((e) => e.created_at)
        .filter(Boolean)
        .sort()[0],
      delivered_at:
        sorted
          .map((e) => e.delivered_at)
          .filter(Boolean)
          .sort()[0] ?? null,
    };
  });
}

/** The version of a member valid at `at` (the latest at or before it, else the first). */
function versionAt(rows: R[], key: string, id: number, at: string): R {
  const vs = rows.filter((r) => r[key] === id).sort((a, b) => a.last_updated.localeCompare(b.last_updated));
  return [...vs].reverse().find((v) => v.last_updated <= at) ?? vs[0]!;
}

const query = async (file: string) => (await pool.query(readFileSync(path.join(ROOT, 'docs/queries', file), 'utf8'))).rows;
const money = (n: number) => Math.round(n * 100) / 100;

describe('the sales warehouse', () => {
  it('keeps a version per change of a staff member, one current', async () => {
    const moved = (data.staff as R[]).filter((s) => s.staff_id === 3);
    const rows = (
      await pool.query('SELECT department_name, is_current, valid_to FROM warehouse.dim_staff WHERE staff_id = 3 ORDER BY valid_from')
    ).rows;
    expect(rows.map((r) => [r.department_name, r.is_current])).toEqual(moved.map((m, i) => [m.department_name, i === moved.length - 1]));
  });

  it('fills in the inferred member of a counterparty that arrived after its orders, keeping the key the orders carry', async () => {
    const dim = (
      await pool.query(
        'SELECT dim_counterparty_sk, counterparty_legal_name, is_inferred FROM warehouse.dim_counterparty WHERE counterparty_id = 1',
      )
    ).rows;
    expect(dim).toEqual([{ dim_counterparty_sk: expect.anything(), counterparty_legal_name: 'Fahey and Sons', is_inferred: false }]);
    const keys = (await pool.query('SELECT DISTINCT counterparty_sk FROM warehouse.fact_sales_order WHERE counterparty_id = 1')).rows;
    expect(keys).toEqual([{ counterparty_sk: dim[0].dim_counterparty_sk }]);
  });

  it('has one fact row per order with its milestones, whatever events it took', async () => {
    const expected = orders();
    const rows = (
      await pool.query(
        'SELECT sales_order_id::int, units_sold::int, agreed_delivery_date::text, delivered_at FROM warehouse.fact_sales_order ORDER BY 1',
      )
    ).rows;
    expect(rows).toHaveLength(expected.length);
    expect(rows.map((r) => [r.sales_order_id, r.units_sold, r.agreed_delivery_date, r.delivered_at?.toISOString() ?? null])).toEqual(
      expected
        .sort((a, b) => a.sales_order_id - b.sales_order_id)
        .map((o) => [o.sales_order_id, o.units_sold, o.agreed_delivery_date, o.delivered_at]),
    );
  });

  it('builds the models in dependency order and passes every error-severity check', async () => {
    const runs = await runModels(pool, 'sales', pipeline.warehouse!.models, 'test');
    expect(runs.map((r) => [r.model, r.status])).toEqual([
      ['sales_enriched', 'success'],
      ['revenue_by_design_region_month', 'success'],
    ]);
    const total = (await pool.query('SELECT sum(orders)::int AS n FROM warehouse.revenue_by_design_region_month')).rows[0].n;
    expect(total).toBe(orders().length);
    const results = await runChecks(pool, 'sales', expandChecks(pipeline.warehouse!.checks));
    expect(results.filter((r) => r.severity === 'error' && r.status !== 'pass')).toEqual([]);
    const stored = (await pool.query(`SELECT count(*)::int AS n FROM tributary.check_status WHERE pipeline = 'sales'`)).rows[0].n;
    expect(stored).toBe(results.length);
  });

  it('`check` exits 1 once an error-severity check fails, naming it', async () => {
    await pool.query(
      `INSERT INTO warehouse.dim_currency (currency_id, currency_code, currency_name, _msg_id) VALUES (99, 'XXX', 'Bad', 'test')`,
    );
    const lines: string[] = [];
    try {
      expect(await checkCommand(url, [pipeline], (l) => lines.push(l))).toBe(1);
      expect(lines.join('\n')).toMatch(/FAIL +error sales: dim_currency\.accepted_values\.currency_code: 1 failing row/);
    } finally {
      await pool.query('DELETE FROM warehouse.dim_currency WHERE currency_id = 99');
    }
    expect(await checkCommand(url, [pipeline], () => undefined)).toBe(0);
  });

  it('answers revenue by design and region per month', async () => {
    const design = new Map((data.design as R[]).map((d) => [d.design_id, d.design_name]));
    const country = new Map((data.address as R[]).map((a) => [a.location_id, a.country]));
    const code = new Map((data.currency as R[]).map((c) => [c.currency_id, c.currency_code]));
    const groups = new Map<string, { orders: number; units: number; revenue: number }>();
    for (const o of orders()) {
      const k = [
        o.created_at.slice(0, 7),
        design.get(o.design_id),
        country.get(o.agreed_delivery_location_id),
        code.get(o.currency_id),
      ].join('|');
      const g = groups.get(k) ?? { orders: 0, units: 0, revenue: 0 };
      groups.set(k, { orders: g.orders + 1, units: g.units + o.units_sold, revenue: g.revenue + o.units_sold * o.unit_price });
    }
    const rows = await query('revenue_by_design_region_month.sql');
    const got = rows.map((r) => [
      [r.month, r.design_name, r.region, r.currency_code].join('|'),
      Number(r.orders),
      Number(r.units),
      Number(r.revenue),
    ]);
    const want = [...groups.entries()].map(([k, g]) => [k, g.orders, g.units, money(g.revenue)]);
    expect(got.sort()).toEqual(want.sort());
  });

  it('answers top counterparties by revenue with their current names', async () => {
    const current = new Map<number, string>();
    for (const c of [...(data.counterparty as R[])].sort((a, b) => a.last_updated.localeCompare(b.last_updated)))
      current.set(c.counterparty_id, c.counterparty_legal_name);
    const code = new Map((data.currency as R[]).map((c) => [c.currency_id, c.currency_code]));
    const sums = new Map<string, { id: number; code: string; orders: number; revenue: number }>();
    for (const o of orders()) {
      const k = `${o.counterparty_id}|${code.get(o.currency_id)}`;
      const s = sums.get(k) ?? { id: o.counterparty_id, code: code.get(o.currency_id)!, orders: 0, revenue: 0 };
      sums.set(k, { ...s, orders: s.orders + 1, revenue: s.revenue + o.units_sold * o.unit_price });
    }
    const want = [...sums.values()]
      .map((s) => ({ ...s, revenue: money(s.revenue) }))
      .sort((a, b) => b.revenue - a.revenue || a.id - b.id)
      .slice(0, 10)
      .map((s) => [s.id, current.get(s.id), s.code, s.orders, s.revenue]);
    const rows = await query('top_counterparties.sql');
    expect(
      rows.map((r) => [Number(r.counterparty_id), r.counterparty_legal_name, r.currency_code, Number(r.orders), Number(r.revenue)]),
    ).toEqual(want);
  });

  it('answers staff performance, crediting the department each order was made in', async () => {
    const groups = new Map<string, { orders: number; units: number; gbp: number; delivered: number; onTime: number }>();
    for (const o of orders()) {
      const s = versionAt(data.staff as R[], 'staff_id', o.staff_id, o.created_at);
      const k = `${o.staff_id}|${s.first_name} ${s.last_name}|${s.department_name}`;
      const g = groups.get(k) ?? { orders: 0, units: 0, gbp: 0, delivered: 0, onTime: 0 };
      groups.set(k, {
        orders: g.orders + 1,
        units: g.units + o.units_sold,
        gbp: g.gbp + (o.currency_id === 1 ? o.units_sold * o.unit_price : 0),
        delivered: g.delivered + (o.delivered_at ? 1 : 0),
        onTime: g.onTime + (o.delivered_at && o.delivered_at.slice(0, 10) <= o.agreed_delivery_date ? 1 : 0),
      });
    }
    const rows = await query('staff_performance.sql');
    const got = rows.map((r) => [
      [Number(r.staff_id), r.staff_name, r.department_name].join('|'),
      Number(r.orders),
      Number(r.units),
      Number(r.revenue_gbp ?? 0),
      r.on_time_rate === null ? null : Number(r.on_time_rate),
    ]);
    const want = [...groups.entries()].map(([k, g]) => [
      k,
      g.orders,
      g.units,
      money(g.gbp),
      g.delivered ? Math.round((g.onTime / g.delivered) * 1000) / 1000 : null,
    ]);
    expect(got.sort()).toEqual(want.sort());
    // Staff who moved department appear once per department they sold in.
    expect(new Set(rows.filter((r) => Number(r.staff_id) === 3).map((r) => r.department_name)).size).toBe(2);
  });
});
