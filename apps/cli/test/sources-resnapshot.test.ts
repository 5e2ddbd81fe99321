/**
 * `tributary sources resnapshot` against a real nats-server, on the shipped CDC variant of the
 * sales pipeline (pipelines/variants/sales-cdc.yaml): a table whose rows reach only upsert tables
 * is requested (the cursor sub-key the running source takes up), one reaching an scd2 table is
 * refused naming the pipeline, table and dataset (resnapshot-targets.test.ts has the other modes),
 * a second request waits for the first, and `sources status` shows it. The source's side is
 * tests/e2e/schema-drift.test.ts and services/ingest-api/test/cdc-resnapshot.test.ts.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { Kvm, type KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { BUCKETS } from '@tributary/contract/wire';
import { connectNats, cursorKey, RESNAPSHOT_SUB } from '@tributary/runtime/nats';
import { NatsServer, stopAll } from '@tributary/testkit';

const ROOT = path.resolve(__dirname, '../../..');
let nats: NatsServer;
let nc: NatsConnection;
let cursors: KV;

function sources(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'apps/cli/dist/cli.js'), 'sources', ...args], {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      TRIBUTARY_PIPELINES: path.join(ROOT, 'pipelines/variants/sales-cdc.yaml'),
      SALES_DB_URL: 'postgres://127.0.0.1:1/unused',
      LOG_LEVEL: 'silent',
    },
    encoding: 'utf8',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connectNats(nats.url, 'resnapshot-test');
  cursors = await new Kvm(nc).create(BUCKETS.cursors);
}, 30_000);
afterAll(async () => {
  await nc?.close();
  await stopAll();
});

const request = async (): Promise<Record<string, unknown> | undefined> => {
  const e = await cursors.get(cursorKey('sales', 'sales_db', RESNAPSHOT_SUB));
  return e && e.operation === 'PUT' ? e.json() : undefined;
};

it('refuses a table whose rows reach an scd2 table, naming the pipeline, table and dataset', async () => {
  const staff = sources('resnapshot', 'sales', 'sales_db', '--table', 'staff');
  expect(staff.status).not.toBe(0);
  expect(staff.stderr).toContain(
    'resnapshot of public.staff refused for pipeline "sales": table "dim_staff" (dataset "staff_rows", scd2): scd2 would count the re-read rows as new events',
  );
  const unknown = sources('resnapshot', 'sales', 'sales_db', '--table', 'public.nosuch');
  expect(unknown.status).toBe(2);
  expect(unknown.stderr).toContain('sales/sales_db does not capture public.nosuch');
  expect(await request()).toBeUndefined();
});

it('writes a request for an upsert-only table, refuses a second while it waits, and status shows it', async () => {
  const ok = sources('resnapshot', 'sales', 'sales_db', '--table', 'currency', '--where', "currency_code = 'GBP'");
  expect(ok.stderr).toBe('');
  expect(ok.status).toBe(0);
  expect(ok.stdout).toMatch(/^requested resnapshot [0-9a-f]{8} of public\.currency where currency_code = 'GBP' from sales\/sales_db$/m);
  expect(await request()).toMatchObject({ table: 'public.currency', where: "currency_code = 'GBP'", state: 'requested' });

  const again = sources('resnapshot', 'sales', 'sales_db', '--table', 'currency');
  expect(again.status).toBe(1);
  expect(again.stdout).toContain("has a resnapshot of public.currency where currency_code = 'GBP': requested by");

  // Once the source marked it done, a new one may be asked for.
  await cursors.put(
    cursorKey('sales', 'sales_db', RESNAPSHOT_SUB),
    JSON.stringify({ ...(await request()), state: 'done', rows: 1, lsn: '0/16B3748', finishedAt: Date.now() }),
  );
  expect(sources('status', 'sales', 'sales_db').stdout).toMatch(/resnapshot of public\.currency .*: done at .*, 1 rows at LSN 0\/16B3748/);
  expect(sources('resnapshot', 'sales', 'sales_db', '--table', 'currency').status).toBe(0);
  expect(await request()).toMatchObject({ table: 'public.currency', state: 'requested' });
  expect((await request())!.where).toBeUndefined();
});
