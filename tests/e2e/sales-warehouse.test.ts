/**
 * The sales warehouse end to end: the four services with pipelines/sales.yaml, the generated
 * operational data pushed over HTTP (orders before their counterparties, so inferred members are
 * filled in later), the loader's models and checks, and `tributary check` gating on the data.
 */
import path from 'node:path';
import { waitFor } from '@tributary/testkit';
import { generateSales } from '../../pipelines/sales/generate-sales';
import { Stack } from './stack';

jest.setTimeout(300_000);

const ROOT = path.resolve(__dirname, '../..');
const data = generateSales({ seed: 3, orders: 120 });
let stack: Stack;

beforeAll(async () => {
  stack = await Stack.start({
    pipelines: path.join(ROOT, 'pipelines/sales.yaml'),
    env: { LOADER_MODELS_INTERVAL_MS: '200' },
  });
});
afterAll(async () => {
  await stack?.stopAll();
});

const ndjson = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join('\n');

describe('pipelines/sales.yaml through the whole stack', () => {
  it('builds the star schema, its models and checks from pushed records', async () => {
    // Orders first: their staff, designs, locations and counterparties become inferred members.
    for (const source of ['sales_order', 'currency', 'staff', 'address', 'design', 'counterparty'] as const) {
      const r = await stack.push(source, ndjson(data[source]), { 'idempotency-key': `e2e-${source}` }, 'sales');
      expect([r.status, r.json.accepted, r.json.rejected]).toEqual([202, data[source].length, 0]);
    }
    const orders = new Set(data.sales_order.map((o) => o.sales_order_id)).size;
    await waitFor(
      async () => {
        const [f] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.fact_sales_order`);
        const [d] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.dim_counterparty WHERE is_inferred`);
        const [m] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.revenue_by_design_region_month`).catch(() => [{ n: -1 }]);
        return f?.n === orders && d?.n === 0 && m?.n > 0;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'orders loaded, inferred members filled in, models built' },
    );
    const staff = await stack.query(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE is_current)::int AS current FROM warehouse.dim_staff`,
    );
    expect(staff[0]).toEqual({ n: data.staff.length, current: new Set(data.staff.map((s) => s.staff_id)).size });
    const [dates] = await stack.query(`SELECT count(*)::int AS n FROM warehouse.dim_date`);
    expect(dates!.n).toBe(4018);
    const runs = await stack.query(
      `SELECT DISTINCT model FROM tributary.model_runs WHERE pipeline = 'sales' AND status = 'success' ORDER BY 1`,
    );
    expect(runs.map((r) => r.model)).toEqual(['revenue_by_design_region_month', 'sales_enriched']);

    const ok = await stack.cli(['check', path.join(ROOT, 'pipelines/sales.yaml')]);
    expect(ok.stdout).toMatch(/checks: \d+ passed, 0 failed \(error\)/);
    await stack.query(`INSERT INTO warehouse.dim_currency (currency_id, currency_code, _msg_id) VALUES (42, 'ZZZ', 'e2e')`);
    await expect(stack.cli(['check', path.join(ROOT, 'pipelines/sales.yaml')])).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/FAIL +error sales: dim_currency\.accepted_values\.currency_code/),
    });
  });
});
