/**
 * Least-privilege PostgreSQL roles (SECURITY.md): a non-superuser owner runs `migrate --roles`,
 * the operator creates one login per service in its group role, and the whole stack runs on
 * those logins: the loader loads, creates the partitions it needs, builds its models and runs its
 * checks, the transformer finalizes windows, the monitor counts, folds dead letters and records a
 * DLQ action, and the ingest API runs with no database at all. Then each boundary refuses the
 * wrong caller with SQLSTATE 42501.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from '@tributary/testkit';
import { Client } from 'pg';
import { isInvalid, ndjson, passage } from './passages';
import { Stack } from './stack';

jest.setTimeout(300_000);
const ROOT = path.resolve(__dirname, '../..');
const ADMIN_TOKEN = 'roles-test-admin-token';
const N = 300;

const PIPELINE = `
pipeline: roles
sources:
  gantry: { kind: push, schema: schemas/passage.json }
datasets:
  passages:
    from: [gantry]
    fields:
      event_id: { type: string, required: true }
      gantry_id: { type: string, required: true }
      speed_kmh: number
      observed_at: { type: timestamp, required: true }
    steps:
      - validate: { schema: schemas/passage.json }
      - map: { speed_kmh: '$round(speed_mph * 1.609344, 1)' }
  gantry_minute:
    from: passages
    steps:
      - window: { tumbling: 1m, time: observed_at, key: [gantry_id], aggregate: { vehicles: count() } }
tables:
  fact_passage: { from: passages, mode: append, key: [event_id] }
  agg_gantry_minute: { from: gantry_minute, mode: aggregate }
  passage_log: { from: passages, mode: append, partition: { by: observed_at, interval: day, premake: 1 } }
models:
  gantry_counts: { sql: models/gantry_counts.sql, materialized: table }
  fast_passages: { sql: models/fast_passages.sql }
checks:
  - { table: fact_passage, not_null: [event_id, gantry_id] }
`;

/** What the operator runs once `migrate --roles` made the group roles: one login per service. */
const LOGINS = `
CREATE ROLE loader_svc LOGIN PASSWORD 'loader-pw' IN ROLE tributary_loader;
ALTER ROLE loader_svc SET role = 'tributary_loader';
CREATE ROLE transformer_svc LOGIN PASSWORD 'transformer-pw' IN ROLE tributary_transformer;
CREATE ROLE monitor_svc LOGIN PASSWORD 'monitor-pw' IN ROLE tributary_monitor;
CREATE ROLE bi_reader LOGIN PASSWORD 'bi-pw' IN ROLE tributary_reader;
CREATE ROLE stranger LOGIN PASSWORD 'stranger-pw';
`;

describe('least-privilege PostgreSQL roles', () => {
  let stack: Stack;
  let dir: string;
  const url = (user: string) => `postgres://${user}:${user.split('_')[0]}-pw@127.0.0.1:${stack.pg.port}/tributary`;

  /** Runs `sql` as `user`: the rows, or the SQLSTATE it was refused with. */
  async function as(user: string, sql: string): Promise<{ rows?: Record<string, unknown>[]; code?: string }> {
    const c = new Client({ connectionString: url(user) });
    await c.connect();
    try {
      return { rows: (await c.query(sql)).rows };
    } catch (err) {
      return { code: (err as { code?: string }).code };
    } finally {
      await c.end();
    }
  }

  /** Expects every statement to be refused for lack of privilege (42501), naming the statement on failure. */
  async function refused(user: string, statements: string[]): Promise<void> {
    for (const sql of statements) expect({ user, sql, code: (await as(user, sql)).code }).toEqual({ user, sql, code: '42501' });
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tributary-roles-'));
    mkdirSync(path.join(dir, 'schemas'));
    mkdirSync(path.join(dir, 'models'));
    copyFileSync(path.join(ROOT, 'pipelines/schemas/passage.json'), path.join(dir, 'schemas/passage.json'));
    writeFileSync(path.join(dir, 'roles.yaml'), PIPELINE);
    writeFileSync(
      path.join(dir, 'models/gantry_counts.sql'),
      "SELECT gantry_id, count(*)::int AS n FROM {{ ref('fact_passage') }} GROUP BY gantry_id",
    );
    writeFileSync(
      path.join(dir, 'models/fast_passages.sql'),
      "SELECT event_id, speed_kmh FROM {{ ref('fact_passage') }} WHERE speed_kmh > 100",
    );
    stack = await Stack.start({
      pipelines: dir,
      services: [],
      env: { MONITOR_ADMIN_TOKEN: ADMIN_TOKEN, LOADER_MODELS_INTERVAL_MS: '500' },
      // The owner creates roles and the database, and is no superuser.
      beforeMigrate: async (pg) => {
        await pg.query("CREATE ROLE tributary_owner LOGIN PASSWORD 'tributary-pw' CREATEROLE CREATEDB");
        return { DATABASE_URL: `postgres://tributary_owner:tributary-pw@127.0.0.1:${pg.port}/tributary` };
      },
      migrateArgs: ['--roles'],
    });
    for (const stmt of LOGINS.split(';').filter((s) => s.trim())) await stack.query(stmt);
    await stack.startService('loader', { DATABASE_URL: url('loader_svc') });
    await stack.startService('transformer', { DATABASE_URL: url('transformer_svc') });
    await stack.startService('monitor', { DATABASE_URL: url('monitor_svc') });
    // Nothing listens on port 1: the ingest API would fail if it ever touched the database.
    await stack.startService('ingest-api', { DATABASE_URL: 'postgres://nobody:nothing@127.0.0.1:1/none' });
  }, 240_000);

  afterAll(async () => {
    await stack?.stopAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('migrate made the group roles as a non-superuser owner, who owns every table', async () => {
    const roles = await stack.query(`SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname LIKE 'tributary\\_%' ORDER BY 1`);
    expect(roles).toEqual(
      ['tributary_loader', 'tributary_monitor', 'tributary_owner', 'tributary_reader', 'tributary_transformer'].map((r) => ({
        rolname: r,
        rolcanlogin: r === 'tributary_owner',
      })),
    );
    const owners = await stack.query(
      `SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN ('tributary', 'warehouse')
       AND tablename NOT IN ('gantry_counts') AND tablename NOT LIKE 'passage\\_log%'`,
    );
    expect(owners).toEqual([{ tableowner: 'tributary_owner' }]);
    // Partition maintenance is the owner's job in PostgreSQL: partitioned tables belong to the loader's group.
    const partitioned = await stack.query(`SELECT DISTINCT tableowner FROM pg_tables WHERE tablename LIKE 'passage\\_log%'`);
    expect(partitioned).toEqual([{ tableowner: 'tributary_loader' }]);
    // Migrate again without the flag: idempotent, and the grants stay in step; a misspelt flag is refused.
    const owner = { DATABASE_URL: `postgres://tributary_owner:tributary-pw@127.0.0.1:${stack.pg.port}/tributary` };
    const again = await stack.cli(['migrate'], owner);
    expect(again.stdout + again.stderr).toMatch(/granted tributary_loader/);
    await expect(stack.cli(['migrate', '--role'], owner)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown argument'),
    });
    // The monitor's tables come from migrate now, not from the monitor.
    const monitorTables = await stack.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'tributary' AND tablename IN ('dlq_actions', 'dead_letter_state', 'alert_events') ORDER BY 1`,
    );
    expect(monitorTables.map((r) => r.tablename)).toEqual(['alert_events', 'dead_letter_state', 'dlq_actions']);
  });

  it('runs the pipeline on the least-privilege logins: loads, windows, models, checks, monitor counts and a DLQ action', async () => {
    const late = { ...passage(N), observed_at: new Date(Date.UTC(2026, 10, 21, 8, 5, 0)).toISOString() }; // moves the watermark past 08:01
    const r = await stack.push('gantry', `${ndjson(0, N)}\n${JSON.stringify(late)}`, { 'idempotency-key': 'roles-1' }, 'roles');
    expect(r.status).toBe(202);
    const invalid = Array.from({ length: N }, (_, i) => i).filter(isInvalid).length;
    const loaded = N + 1 - invalid;
    expect(r.json.rejected).toBe(invalid);

    // The monitor (monitor_svc) counts what the loader (loader_svc) loaded.
    const s = await waitFor(
      async () => {
        const st = await stack.status('roles').catch(() => undefined);
        return st?.tables?.fact_passage?.loaded === loaded && st.rejected === invalid ? st : undefined;
      },
      { timeoutMs: 120_000, what: 'records loaded and counted by the monitor' },
    );
    expect(s.accepted).toBe(loaded);
    expect((await stack.query('SELECT count(*)::int AS n FROM warehouse.fact_passage'))[0]!.n).toBe(loaded);
    // The loader (loader_svc) made the partitions of 2026-11-21 and filled them, and none went to DEFAULT.
    await waitFor(async () => ((await stack.status('roles')).tables?.passage_log?.loaded === loaded ? true : undefined), {
      timeoutMs: 60_000,
      what: 'partitioned table loaded',
    });
    expect(await stack.query(`SELECT tableoid::regclass::text AS part, count(*)::int AS n FROM warehouse.passage_log GROUP BY 1`)).toEqual([
      { part: 'warehouse.passage_log_p20261121', n: loaded },
    ]);
    expect((await as('bi_reader', 'SELECT count(*)::int AS n FROM warehouse.passage_log')).rows?.[0]?.n).toBe(loaded);

    // The transformer (transformer_svc) finalized the 08:00 windows through its column grant.
    await waitFor(
      async () => {
        const rows = await stack.query(
          `SELECT bool_and(final) AS done FROM warehouse.agg_gantry_minute WHERE window_end <= '2026-11-21T08:01:00Z'`,
        );
        return rows[0]?.done === true ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'windows finalized' },
    );

    // The loader built its models (owned by its group, rebuilt after the load) and ran the check.
    await waitFor(
      async () => {
        const sum = await as('bi_reader', 'SELECT sum(n)::int AS n FROM warehouse.gantry_counts');
        return sum.rows?.[0]?.n === loaded ? true : undefined;
      },
      { timeoutMs: 60_000, what: 'table model rebuilt with every loaded record, readable by the reader' },
    );
    const models = await stack.query(
      `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'warehouse' AND c.relname IN ('gantry_counts', 'fast_passages') ORDER BY 1`,
    );
    expect(models).toEqual([
      { relname: 'fast_passages', owner: 'tributary_loader' },
      { relname: 'gantry_counts', owner: 'tributary_loader' },
    ]);
    expect((await as('bi_reader', 'SELECT count(*)::int AS n FROM warehouse.fast_passages')).rows?.[0]?.n).toBeGreaterThan(0);
    await waitFor(
      async () =>
        (await stack.query(`SELECT status FROM tributary.check_results WHERE pipeline = 'roles'`))[0]?.status === 'pass' ? true : undefined,
      { timeoutMs: 60_000, what: 'check result written by the loader' },
    );

    // The monitor writes its own tables: discarding a dead letter lands in the audit trail.
    const dead = await waitFor(
      async () => {
        const page = (await (await fetch(`${stack.url('monitor')}/api/dlq?pipeline=roles`)).json()) as { dead_letters: { seq: number }[] };
        return page.dead_letters.length === invalid ? page.dead_letters : undefined;
      },
      { timeoutMs: 60_000, what: 'dead letters folded by the monitor' },
    );
    const discard = await fetch(`${stack.url('monitor')}/api/dlq/discard`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body: JSON.stringify({ seqs: [dead[0]!.seq] }),
    });
    expect(discard.status).toBe(200);
    expect(await stack.query('SELECT status FROM tributary.dead_letter_state')).toEqual([{ status: 'discarded' }]);
  });

  it('refuses the reader anything but reading the warehouse', async () => {
    expect((await as('bi_reader', 'SELECT count(*)::int AS n FROM warehouse.fact_passage')).rows?.[0]?.n).toBeGreaterThan(0);
    await refused('bi_reader', [
      `INSERT INTO warehouse.fact_passage (event_id, gantry_id, observed_at, _msg_id) VALUES ('x', 'G001', now(), 'forged')`,
      `UPDATE warehouse.fact_passage SET speed_kmh = 0`,
      `DELETE FROM warehouse.fact_passage`,
      `CREATE TABLE warehouse.mine (a int)`,
      `SELECT * FROM tributary.load_ledger`,
      `SELECT * FROM tributary.dead_letters`,
    ]);
  });

  it('refuses the monitor the warehouse and the bookkeeping it does not own', async () => {
    await refused('monitor_svc', [
      'SELECT * FROM warehouse.fact_passage',
      `INSERT INTO warehouse.fact_passage (event_id, gantry_id, observed_at, _msg_id) VALUES ('x', 'G001', now(), 'forged')`,
      'DELETE FROM tributary.load_ledger',
      'UPDATE tributary.load_ledger SET written = 0',
      'DELETE FROM tributary.stream_log',
      'DROP TABLE tributary.stream_log',
      'CREATE TABLE tributary.mine (a int)',
    ]);
  });

  it('refuses the loader DDL on spec tables, deletes, roles and the monitor tables', async () => {
    await refused('loader_svc', [
      'DROP TABLE warehouse.fact_passage',
      'TRUNCATE warehouse.fact_passage',
      'ALTER TABLE warehouse.fact_passage ADD COLUMN forged text',
      'DELETE FROM warehouse.fact_passage',
      'DELETE FROM tributary.load_ledger',
      `INSERT INTO tributary.stream_log (stream, msg_id, pipeline, name, records, seq) VALUES ('TRIB_RAW', 'forged', 'roles', 'gantry', 1, 1)`,
      `UPDATE tributary.dlq_actions SET actor = 'forged'`,
      'CREATE TABLE tributary.mine (a int)',
      'ALTER ROLE bi_reader CONNECTION LIMIT 1',
      'CREATE ROLE intruder LOGIN',
      'GRANT tributary_loader TO bi_reader',
    ]);
  });

  it('refuses the transformer every write but marking windows final', async () => {
    expect((await as('transformer_svc', 'UPDATE warehouse.agg_gantry_minute SET final = final WHERE false')).code).toBeUndefined();
    await refused('transformer_svc', [
      'UPDATE warehouse.agg_gantry_minute SET vehicles = 0',
      `INSERT INTO warehouse.fact_passage (event_id, gantry_id, observed_at, _msg_id) VALUES ('x', 'G001', now(), 'forged')`,
      'DELETE FROM warehouse.agg_gantry_minute',
      'SELECT * FROM tributary.load_ledger',
    ]);
  });

  it('stops a service at start when its login lacks its role, or migrate never ran, naming what is missing', async () => {
    await stack.stop('monitor');
    await expect(stack.startService('monitor', { DATABASE_URL: url('stranger') })).rejects.toThrow(
      /lacks .*SELECT on tributary\.stream_log.*grant it the role tributary_monitor/,
    );
    // A database migrate never ran on: the monitor names the tables and the command, and creates nothing.
    const empty = await stack.pg.createDatabase('never_migrated');
    await expect(stack.startService('monitor', { DATABASE_URL: empty })).rejects.toThrow(
      /TRIB_E_TOPOLOGY_MISSING.*tables missing: tributary\.stream_log.*tributary migrate/,
    );
    expect(await stack.pg.query(`SELECT nspname FROM pg_namespace WHERE nspname = 'tributary'`, [], 'never_migrated')).toEqual([]);
    await stack.stop('loader');
    await expect(stack.startService('loader', { DATABASE_URL: url('monitor_svc') })).rejects.toThrow(
      /lacks .*SELECT on warehouse\.fact_passage.*grant it the role tributary_loader/,
    );
  });
});
