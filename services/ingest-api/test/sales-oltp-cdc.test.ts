/**
 * The shipped sales example end to end at the source: scripts/sales-oltp.js creates and seeds the
 * operational database, pipelines/variants/sales-cdc.yaml captures it with postgres_cdc while the
 * script runs business transactions, and every row's latest state is in the stream.
 */
import path from 'node:path';
import { PostgresServer, stopAll, waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { SourceEnv } from './source-env';

// The script is plain CommonJS: the same code `node scripts/sales-oltp.js` runs.
const oltp = require('../../../scripts/sales-oltp.js') as {
  ensureDatabase(url: string): Promise<void>;
  setup(db: Client, r: () => number): Promise<string>;
  run(db: Client, r: () => number, o: { rate: number; count: number; durationMs: number }): Promise<Record<string, number>>;
};

afterAll(stopAll);

describe('pipelines/variants/sales-cdc.yaml', () => {
  it('stays a drop-in replacement of pipelines/sales.yaml: same name, tables and dataset fields', () => {
    const root = path.resolve(__dirname, '../../..');
    const push = loadPipelineFile(path.join(root, 'pipelines/sales.yaml'));
    const cdc = loadPipelineFile(path.join(root, 'pipelines/variants/sales-cdc.yaml'));
    expect(cdc.name).toBe(push.name);
    expect(cdc.tables).toEqual(push.tables);
    for (const ds of push.datasets) expect(cdc.datasets.find((d) => d.name === ds.name)?.fields).toEqual(ds.fields);
  });
});

describe('sales OLTP captured by pipelines/variants/sales-cdc.yaml', () => {
  let pg: PostgresServer;
  let env: SourceEnv;

  beforeAll(async () => {
    [pg, env] = await Promise.all([
      PostgresServer.start({ settings: { wal_level: 'logical', max_replication_slots: 4, max_wal_senders: 4 } }),
      SourceEnv.start(),
    ]);
  });
  afterAll(async () => {
    await env?.close();
  });

  it('snapshots the seeded tables and streams the transactions the script runs', async () => {
    const url = pg.url('sales_oltp');
    await oltp.ensureDatabase(url);
    const db = new Client({ connectionString: url });
    await db.connect();
    let seed = 7;
    const r = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    expect(await oltp.setup(db, r)).toBe('seeded');
    await oltp.run(db, r, { rate: 0, count: 50, durationMs: 60_000 });

    const ingest = await env.spawnIngest({
      SALES_DB_URL: url,
      TRIBUTARY_PIPELINES: path.resolve(__dirname, '../../../pipelines/variants/sales-cdc.yaml'),
    });
    const done = await oltp.run(db, r, { rate: 0, count: 300, durationMs: 60_000 });
    expect(done.order).toBeGreaterThan(50);

    // Every order as it is now: its last record in the stream matches the row.
    const orders = (
      await db.query<{ sales_order_id: number; units_sold: number; delivered: boolean }>(
        'SELECT sales_order_id, units_sold, delivered_at IS NOT NULL AS delivered FROM sales_order ORDER BY 1',
      )
    ).rows;
    const latest = await waitFor(
      async () => {
        const last = new Map<number, Rec>();
        for (const m of await env.raw('sales', 'sales_db'))
          for (const rec of m.records) if (rec._table === 'public.sales_order') last.set(rec.sales_order_id as number, rec);
        const ok = orders.every((o) => {
          const rec = last.get(o.sales_order_id);
          return rec && rec._op !== 'delete' && rec.units_sold === o.units_sold && (rec.delivered_at !== null) === o.delivered;
        });
        return ok ? last : undefined;
      },
      { timeoutMs: 30_000, what: 'the latest state of every order' },
    );
    const tables = new Set((await env.raw('sales', 'sales_db')).flatMap((m) => m.records.map((x) => x._table as string)));
    expect([...tables].sort()).toEqual(
      ['address', 'counterparty', 'currency', 'department', 'design', 'payment', 'payment_type', 'sales_order', 'staff'].map(
        (t) => `public.${t}`,
      ),
    );
    expect(latest.size).toBeGreaterThanOrEqual(orders.length);
    await db.end();
    await ingest.proc.stop();
  });
});
