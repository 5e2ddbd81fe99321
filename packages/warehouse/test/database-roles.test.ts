/**
 * `migrate --roles` against a real PostgreSQL, for the monitor's report queries: a login in
 * `tributary_monitor` (what SECURITY.md tells operators to create) may `SET ROLE tributary_reader`
 * and read the warehouse there, read-only, while its own session still cannot read the warehouse.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { PostgresServer, stopAll } from '@tributary/testkit';
import { Client, Pool } from 'pg';
import { BOOKKEEPING_DDL } from '../src/bookkeeping';
import { ensureDatabaseRoles } from '../src/database-roles';
import { ensureWarehouse } from '../src/ensure-warehouse';

let pg: PostgresServer;
let pool: Pool;
let url: string;

beforeAll(async () => {
  pg = await PostgresServer.start();
  url = await pg.createDatabase('roles');
  pool = new Pool({ connectionString: url, max: 1 });
  pool.on('error', () => undefined);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-roles-'));
  writeFileSync(
    path.join(dir, 'p.yaml'),
    'pipeline: shop\nsources:\n  in: { kind: push }\ndatasets:\n  d:\n    from: in\n    fields: { id: string, n: integer }\ntables:\n  fact_sale: { from: d, mode: append }\n',
  );
  const pipeline = loadPipelineFile(path.join(dir, 'p.yaml'));
  await pool.query(BOOKKEEPING_DDL);
  const c = await pool.connect();
  try {
    await ensureWarehouse(c, pipeline);
    await c.query(`INSERT INTO warehouse.fact_sale (id, n, _msg_id) VALUES ('a', 1, 'm1')`);
    await ensureDatabaseRoles(c, [pipeline], { create: true });
    // Again: idempotent, nothing refused when the membership is already there.
    await ensureDatabaseRoles(c, [pipeline], { create: true });
  } finally {
    c.release();
  }
  await pool.query(`CREATE ROLE monitor_svc LOGIN IN ROLE tributary_monitor`);
});
afterAll(async () => {
  await pool?.end();
  await stopAll();
});

/** Runs statements in order on one session of `user`; the last one's rows, or the SQLSTATE that refused one. */
async function as(user: string, ...sql: string[]): Promise<{ rows?: Record<string, unknown>[]; code?: string }> {
  const u = new URL(url);
  u.username = user;
  const c = new Client({ connectionString: u.toString() });
  await c.connect();
  try {
    let rows: Record<string, unknown>[] = [];
    for (const s of sql) rows = (await c.query(s)).rows;
    return { rows };
  } catch (err) {
    return { code: (err as { code?: string }).code };
  } finally {
    await c.end();
  }
}

describe('the monitor login and the reader role', () => {
  it('lets a tributary_monitor login run report queries as tributary_reader, read-only', async () => {
    const read = await as(
      'monitor_svc',
      'BEGIN TRANSACTION READ ONLY',
      'SET LOCAL ROLE tributary_reader',
      'SELECT count(*)::int AS n, current_user AS who FROM warehouse.fact_sale',
    );
    expect(read).toEqual({ rows: [{ n: 1, who: 'tributary_reader' }] });
    // As the reader, even outside a read-only transaction, nothing can be written.
    expect(
      await as('monitor_svc', 'SET ROLE tributary_reader', `INSERT INTO warehouse.fact_sale (id, n, _msg_id) VALUES ('x', 2, 'forged')`),
    ).toEqual({ code: '42501' });
  });

  it('does not give the monitor login the warehouse outside SET ROLE (tributary_monitor does not inherit the reader)', async () => {
    expect(await as('monitor_svc', 'SELECT count(*) FROM warehouse.fact_sale')).toEqual({ code: '42501' });
    const r = await pool.query<{ inherit: boolean; member: boolean }>(
      `SELECT rolinherit AS inherit, pg_has_role('tributary_monitor', 'tributary_reader', 'MEMBER') AS member
         FROM pg_roles WHERE rolname = 'tributary_monitor'`,
    );
    expect(r.rows[0]).toEqual({ inherit: false, member: true });
  });

  it('still refuses a login in no group the reader role', async () => {
    await pool.query('CREATE ROLE stranger LOGIN');
    expect(await as('stranger', 'SET ROLE tributary_reader')).toEqual({ code: '42501' });
  });
});
