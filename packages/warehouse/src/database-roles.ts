/**
 * Least-privilege PostgreSQL roles (SECURITY.md, "PostgreSQL roles"): NOLOGIN group roles that
 * `migrate --roles` creates and keeps granted, so each service logs in as a user with only what it
 * needs. The role that runs `migrate` owns the schemas and every table it creates; the groups get:
 *
 * | group                   | warehouse                                                                  | tributary (bookkeeping)                               |
 * | ----------------------- | -------------------------------------------------------------------------- | ----------------------------------------------------- |
 * | `tributary_loader`      | SELECT, INSERT, UPDATE on tables; CREATE in the schema (its models)        | ledger rows, model runs, check results; TEMP          |
 * | `tributary_transformer` | SELECT (enrich), UPDATE of the `final` column of window aggregate tables    | none                                                  |
 * | `tributary_monitor`     | none                                                                       | stream log, dead letters, DLQ audit, alerts; reads    |
 * | `tributary_reader`      | SELECT (dashboards, BI), models included                                   | none                                                  |
 *
 * Nobody but the owner may DROP, ALTER or TRUNCATE a spec table, with one exception the loader's
 * own work needs: it builds models (views and tables it re-creates), so it has CREATE in
 * `warehouse` and owns them; and it maintains partitioned tables at run time (attaches new
 * partitions, moves rows out of DEFAULT, detaches and drops expired ones), which PostgreSQL allows
 * only the owner, so migrate hands partitioned tables and their partitions to `tributary_loader`.
 * Login users of the loader start their sessions as the group (`ALTER ROLE .. SET role`) so what
 * they create belongs to `tributary_loader` and reaches readers through its default privileges.
 * The ingest API has no warehouse access at all, so it gets no role.
 *
 * The monitor runs report queries as `tributary_reader` (`SET LOCAL ROLE`, in a read-only
 * transaction), so `tributary_monitor` is a member of `tributary_reader` without inheriting it
 * (`tributary_monitor` is NOINHERIT): a monitor login may `SET ROLE tributary_reader`, but its own
 * queries, outside that, still cannot read the warehouse.
 */
import type { ClientBase } from 'pg';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline, windowOf, inPostgres, WINDOW_COLUMNS } from '@tributary/contract/spec';
import { ident, TRIBUTARY_SCHEMA, WAREHOUSE_SCHEMA, warehouseTable } from './sql';

/** The group roles, by the service (or audience) they are for. */
export const DATABASE_ROLES = {
  loader: 'tributary_loader',
  transformer: 'tributary_transformer',
  monitor: 'tributary_monitor',
  reader: 'tributary_reader',
} as const;

/** A table privilege. */
export type TablePrivilege = 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE';

/** Tables (schema-qualified) and the privileges needed on each. */
export type TableNeeds = Record<string, readonly TablePrivilege[]>;

/** What each service needs on Tributary's own tables; the single source of grants and start-up checks. */
export const BOOKKEEPING_ACCESS: Record<'loader' | 'monitor', Record<string, TablePrivilege[]>> = {
  loader: {
    load_ledger: ['SELECT', 'INSERT', 'UPDATE'],
    model_runs: ['SELECT', 'INSERT'],
    check_results: ['INSERT'],
    retention_runs: ['SELECT', 'INSERT'],
    txn_parts: ['SELECT', 'INSERT', 'DELETE'],
    txn_groups: ['SELECT', 'INSERT'],
  },
  monitor: {
    stream_log: ['SELECT', 'INSERT'],
    dead_letters: ['SELECT', 'INSERT'],
    load_ledger: ['SELECT'],
    check_results: ['SELECT'],
    table_status: ['SELECT'],
    dlq_actions: ['SELECT', 'INSERT', 'UPDATE'],
    dead_letter_state: ['SELECT', 'INSERT', 'UPDATE'],
    alert_events: ['SELECT', 'INSERT'],
    schema_drift: ['SELECT', 'INSERT', 'UPDATE'],
    txn_parts: ['SELECT'],
    txn_groups: ['SELECT'],
  },
};

/** What the loader needs on each warehouse table it writes. */
const WAREHOUSE_WRITE: TablePrivilege[] = ['SELECT', 'INSERT', 'UPDATE'];

/** The tables a service uses and the privileges it needs on each: what its start-up check verifies. */
export function tableNeeds(service: 'loader' | 'monitor', pipelines: Pipeline[] = []): TableNeeds {
  const out: Record<string, readonly TablePrivilege[]> = {};
  // Tables with a ClickHouse sink (`sink:`) are not in PostgreSQL.
  if (service === 'loader')
    for (const t of pipelines.flatMap((p) => p.tables.filter(inPostgres))) out[`${WAREHOUSE_SCHEMA}.${t.name}`] = WAREHOUSE_WRITE;
  for (const [t, privs] of Object.entries(BOOKKEEPING_ACCESS[service])) out[`${TRIBUTARY_SCHEMA}.${t}`] = privs;
  return out;
}

/** Sequences behind the bigserial keys of the tables above, by the role inserting into them. */
const BOOKKEEPING_SEQUENCES: Record<'loader' | 'monitor', string[]> = {
  loader: ['model_runs_id_seq', 'check_results_id_seq', 'retention_runs_id_seq'],
  monitor: ['dlq_actions_id_seq', 'alert_events_id_seq'],
};

/** Tables whose `final` column the transformer's window finalizer sets. */
function windowTables(pipelines: Pipeline[]): string[] {
  return pipelines.flatMap((p) =>
    p.tables
      .filter((t) => t.mode === 'aggregate' && inPostgres(t) && windowOf(p.datasets.find((d) => d.name === t.from) ?? { steps: [] }))
      .map((t) => t.name),
  );
}

/** The GRANT statements for the current tables and the default privileges for later ones. */
export function roleGrants(pipelines: Pipeline[]): string[] {
  const R = Object.fromEntries(Object.entries(DATABASE_ROLES).map(([k, v]) => [k, ident(v)])) as Record<
    keyof typeof DATABASE_ROLES,
    string
  >;
  const W = ident(WAREHOUSE_SCHEMA);
  const T = ident(TRIBUTARY_SCHEMA);
  const bookkeeping = (role: 'loader' | 'monitor'): string[] => [
    ...Object.entries(BOOKKEEPING_ACCESS[role]).map(([table, privs]) => `GRANT ${privs.join(', ')} ON ${T}.${ident(table)} TO ${R[role]}`),
    `GRANT USAGE ON SEQUENCE ${BOOKKEEPING_SEQUENCES[role].map((s) => `${T}.${ident(s)}`).join(', ')} TO ${R[role]}`,
  ];
  return [
    `GRANT USAGE ON SCHEMA ${W} TO ${R.loader}, ${R.transformer}, ${R.reader}`,
    `GRANT USAGE ON SCHEMA ${T} TO ${R.loader}, ${R.monitor}`,
    // Models: the loader creates (and owns) their views and tables.
    `GRANT CREATE ON SCHEMA ${W} TO ${R.loader}`,
    // Staging tables of COPY and merge plans are per-session TEMP tables.
    `DO $$ BEGIN EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO ${R.loader}', current_database()); END $$`,
    // Partition maintenance is the owner's: partitioned tables and their partitions belong to the loader.
    `DO $$ DECLARE t regclass; BEGIN
       FOR t IN SELECT c.oid::regclass FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = ${literal(WAREHOUSE_SCHEMA)} AND (c.relkind = 'p' OR c.relispartition)
                  AND c.relowner <> ${literal(DATABASE_ROLES.loader)}::regrole
       LOOP EXECUTE format('ALTER TABLE %s OWNER TO %I', t, ${literal(DATABASE_ROLES.loader)}); END LOOP;
     END $$`,
    `GRANT ${WAREHOUSE_WRITE.join(', ')} ON ALL TABLES IN SCHEMA ${W} TO ${R.loader}`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${W} TO ${R.transformer}, ${R.reader}`,
    ...windowTables(pipelines).map((t) => `GRANT UPDATE (${ident(WINDOW_COLUMNS.final)}) ON ${warehouseTable(t)} TO ${R.transformer}`),
    ...bookkeeping('loader'),
    ...bookkeeping('monitor'),
    // Tables migrate creates later, and models the loader creates later.
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${W} GRANT ${WAREHOUSE_WRITE.join(', ')} ON TABLES TO ${R.loader}`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${W} GRANT SELECT ON TABLES TO ${R.transformer}, ${R.reader}`,
    `ALTER DEFAULT PRIVILEGES FOR ROLE ${R.loader} IN SCHEMA ${W} GRANT SELECT ON TABLES TO ${R.transformer}, ${R.reader}`,
  ];
}

/**
 * Makes `tributary_monitor` a NOINHERIT member of `tributary_reader` (report queries run as the
 * reader), when it is not yet; NOINHERIT first, so on PostgreSQL 16+ the grant inherits nothing either.
 */
async function readerForMonitor(db: ClientBase): Promise<void> {
  const r = await db.query<{ inherit: boolean; member: boolean }>(
    `SELECT rolinherit AS inherit, pg_has_role($1, $2, 'MEMBER') AS member FROM pg_roles WHERE rolname = $1`,
    [DATABASE_ROLES.monitor, DATABASE_ROLES.reader],
  );
  const needs = 'it needs CREATEROLE (or ADMIN on tributary_reader) to let the monitor run report queries as the reader';
  if (r.rows[0]?.inherit) await privileged(db, `ALTER ROLE ${ident(DATABASE_ROLES.monitor)} NOINHERIT`, needs);
  if (!r.rows[0]?.member) await privileged(db, `GRANT ${ident(DATABASE_ROLES.reader)} TO ${ident(DATABASE_ROLES.monitor)}`, needs);
}

/** A SQL string literal (for the fixed names above). */
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Names of the group roles that exist. */
async function existingRoles(db: ClientBase): Promise<Set<string>> {
  const r = await db.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [Object.values(DATABASE_ROLES)]);
  return new Set(r.rows.map((x) => x.rolname));
}

/** Runs `sql`, turning a refusal into a TributaryError that says what migrate's role is missing. */
async function privileged(db: ClientBase, sql: string, needs: string): Promise<void> {
  try {
    await db.query(sql);
  } catch (err) {
    if ((err as { code?: string }).code !== '42501') throw err;
    throw new TributaryError('TRIB_E_CONFIG', `migrate cannot set up the database roles (${needs}): ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * With `create`, creates the missing group roles (needs CREATEROLE); then, when all of them exist,
 * grants them what the tables of `pipelines` need (idempotent, so every migrate keeps new tables
 * covered). Without `create` and without the roles, does nothing. Returns a line per action.
 */
export async function ensureDatabaseRoles(db: ClientBase, pipelines: Pipeline[], opts: { create: boolean }): Promise<string[]> {
  const actions: string[] = [];
  let have = await existingRoles(db);
  if (opts.create) {
    for (const role of Object.values(DATABASE_ROLES).filter((r) => !have.has(r))) {
      try {
        await privileged(db, `CREATE ROLE ${ident(role)} NOLOGIN`, 'it needs CREATEROLE');
      } catch (err) {
        if ((err as { code?: string }).code !== '42710') throw err; // created concurrently
      }
      actions.push(`created role ${role}`);
    }
    have = await existingRoles(db);
  }
  if (have.size < Object.keys(DATABASE_ROLES).length) return actions;
  // Default privileges for objects the loader creates need membership of its group (a superuser has it).
  const member = await db.query<{ ok: boolean }>(`SELECT pg_has_role(current_user, $1, 'USAGE') AS ok`, [DATABASE_ROLES.loader]);
  if (!member.rows[0]?.ok) {
    await privileged(db, `GRANT ${ident(DATABASE_ROLES.loader)} TO CURRENT_USER`, 'it needs CREATEROLE or ADMIN on tributary_loader');
  }
  await readerForMonitor(db);
  const owner = 'it must own the tributary and warehouse schemas and their tables';
  for (const sql of roleGrants(pipelines)) await privileged(db, sql, owner);
  actions.push(`granted ${Object.values(DATABASE_ROLES).join(', ')}`);
  return actions;
}
