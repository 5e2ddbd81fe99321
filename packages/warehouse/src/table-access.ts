/**
 * Start-up check of the tables a service uses: every one must exist (`migrate` creates them; a
 * service never does) and the service's database user must hold the privileges it needs on it,
 * so a missing migration or grant stops the service at start with the fix, instead of failing
 * its first write.
 */
import type { Pool, PoolClient } from 'pg';
import { TributaryError } from '@tributary/contract/errors';
import { DATABASE_ROLES, type TableNeeds } from './database-roles';

/** What is wrong: tables that do not exist, and privileges the current user lacks (`INSERT on t`). */
export interface TableAccessProblems {
  missing: string[];
  denied: string[];
}

/**
 * Finds missing tables and privileges; connection failures reject as they are. Reads the catalogs
 * (readable by every user) rather than resolving names, which a user without USAGE on the schema
 * may not do.
 */
export async function tableAccessProblems(db: Pool | PoolClient, needs: TableNeeds): Promise<TableAccessProblems> {
  const wanted = Object.entries(needs)
    .flatMap(([table, privs]) => {
      const [schema, name] = table.split('.') as [string, string];
      return privs.map((p) => ({ t: table, s: schema, r: name, p }));
    })
    .map((w, i) => ({ i, ...w })); // reported in the order asked
  const r = await db.query<{
    table: string;
    schema: string;
    privilege: string;
    found: boolean;
    usage: boolean | null;
    granted: boolean | null;
  }>(
    `SELECT w.t AS table, w.s AS schema, w.p AS privilege, c.oid IS NOT NULL AS found,
            has_schema_privilege(n.oid, 'USAGE') AS usage, has_table_privilege(c.oid, w.p) AS granted
     FROM jsonb_to_recordset($1::jsonb) AS w(i int, t text, s text, r text, p text)
     LEFT JOIN pg_namespace n ON n.nspname = w.s
     LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.r
     ORDER BY w.i`,
    [JSON.stringify(wanted)],
  );
  const missing = new Set(r.rows.filter((x) => !x.found).map((x) => x.table));
  const denied = new Set<string>();
  for (const x of r.rows.filter((row) => row.found)) {
    if (!x.usage) denied.add(`USAGE on schema ${x.schema}`);
    if (!x.granted) denied.add(`${x.privilege} on ${x.table}`);
  }
  return { missing: [...missing], denied: [...denied] };
}

/**
 * Fails with TRIB_E_TOPOLOGY_MISSING naming the missing tables (run migrate), or TRIB_E_CONFIG
 * naming the missing privileges and the group role that has them.
 */
export async function assertTableAccess(db: Pool | PoolClient, needs: TableNeeds, role: keyof typeof DATABASE_ROLES): Promise<void> {
  const { missing, denied } = await tableAccessProblems(db, needs);
  if (missing.length > 0) {
    throw new TributaryError(
      'TRIB_E_TOPOLOGY_MISSING',
      `PostgreSQL tables missing: ${missing.join(', ')}. Run \`tributary migrate\` (npm run migrate, or the chart's migrate Job) first.`,
      { details: { missing } },
    );
  }
  if (denied.length > 0) {
    const user = (await db.query<{ u: string }>('SELECT current_user AS u')).rows[0]?.u;
    throw new TributaryError(
      'TRIB_E_CONFIG',
      `PostgreSQL user ${user} lacks ${denied.join(', ')}: grant it the role ${DATABASE_ROLES[role]} (\`tributary migrate --roles\` creates it; see SECURITY.md).`,
      { details: { denied } },
    );
  }
}
