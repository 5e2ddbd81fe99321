/**
 * Creates or evolves a table's ClickHouse objects (clickhouse-layout.ts), like `ensureTable` does
 * for PostgreSQL: a new field adds a Nullable column (`ALTER TABLE ADD COLUMN`; 18.16 has no
 * `IF NOT EXISTS` there, so a concurrent add is recognised by its error code); a changed type, a
 * changed mode or a foreign object under the view's name is an incompatible change, reported as
 * TRIB_E_SCHEMA_INCOMPATIBLE for that table alone. Run by `migrate` and by the loader at start.
 *
 * The view is rebuilt only when its definition changed: 18.16 has no `CREATE OR REPLACE VIEW`, so
 * the wanted view is created under a scratch name, its normalised definition (as the server
 * stores it) compared with the current one, and swapped in by DROP + RENAME when they differ.
 */
import { randomBytes } from 'node:crypto';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline, type Table, clickhouseConnectionOf } from '@tributary/contract/spec';
import {
  chIdent,
  chString,
  ClickHouseClient,
  clickhouseCodeOf,
  CLICKHOUSE_COLUMN_EXISTS,
  CLICKHOUSE_TABLE_EXISTS,
} from './clickhouse-client';
import { chTable, clickhouseLayout, type ClickHouseColumn, type ClickHouseLayout } from './clickhouse-layout';

/** A ClickHouse table of the spec with its client and layout. */
export interface ClickHouseTarget {
  client: ClickHouseClient;
  layout: ClickHouseLayout;
}

/** The client and layout of a table with a ClickHouse sink (secrets resolved from `env`). */
export function clickhouseTarget(pipeline: Pipeline, table: Table, env: NodeJS.ProcessEnv = process.env): ClickHouseTarget {
  const c = clickhouseConnectionOf(pipeline, table);
  if (!c) throw new TributaryError('TRIB_E_INTERNAL', `table ${table.name} loads into PostgreSQL, not ClickHouse`);
  return { client: ClickHouseClient.fromConnection(c, env), layout: clickhouseLayout(pipeline, table, c.database) };
}

/** Why the existing objects cannot take the spec (empty when they can), and the columns to add. */
export async function clickhouseSchemaProblems(
  { client, layout }: ClickHouseTarget,
  file: string,
): Promise<{ exists: boolean; problems: string[]; missing: ClickHouseColumn[] }> {
  const { database: db, view, store, otherStore } = layout;
  const objects = await client.select<{ name: string; engine: string; sorting_key: string }>(
    `SELECT name, engine, sorting_key FROM system.tables WHERE database = ${chString(db)} AND name IN (${[view, store, otherStore].map(chString).join(', ')})`,
  );
  const byName = new Map(objects.map((o) => [o.name, o]));
  const problems: string[] = [];
  if (byName.has(otherStore)) {
    problems.push(`ClickHouse table ${db}.${view} was created by another load mode (${db}.${otherStore} exists)`);
  }
  const v = byName.get(view);
  if (v && v.engine !== 'View') problems.push(`${db}.${view} exists in ClickHouse and is not Tributary's view (engine ${v.engine})`);
  const s = byName.get(store);
  if (!s) return { exists: false, problems, missing: [] };
  if (s.sorting_key !== layout.sortingKey) {
    problems.push(`${db}.${store} is sorted by (${s.sorting_key}) in ClickHouse, not (${layout.sortingKey})`);
  }
  const have = new Map(
    (
      await client.select<{ name: string; type: string }>(
        `SELECT name, type FROM system.columns WHERE database = ${chString(db)} AND table = ${chString(store)}`,
      )
    ).map((c) => [c.name, c.type]),
  );
  const missing: ClickHouseColumn[] = [];
  for (const c of layout.columns) {
    const got = have.get(c.name);
    if (got === undefined && c.addable) missing.push(c);
    else if (got === undefined) problems.push(`column ${store}.${c.name} is missing in ClickHouse: the table was created by another mode`);
    else if (got !== c.type) problems.push(`column ${store}.${c.name} is ${got} in ClickHouse but ${c.type} in ${file}`);
  }
  return { exists: true, problems, missing };
}

/** Creates or evolves the table's ClickHouse objects; returns the actions taken. */
export async function ensureClickHouseTable(target: ClickHouseTarget, pipeline: Pipeline, table: Table): Promise<string[]> {
  const { client, layout } = target;
  const actions: string[] = [];
  await client.command(`CREATE DATABASE IF NOT EXISTS ${chIdent(layout.database)}`);
  const { exists, problems, missing } = await clickhouseSchemaProblems(target, pipeline.file);
  if (problems.length > 0) {
    throw new TributaryError(
      'TRIB_E_SCHEMA_INCOMPATIBLE',
      `ClickHouse table ${layout.database}.${table.name} stopped, incompatible schema change: ${problems.join('; ')}`,
      { location: { file: pipeline.file, field: `tables.${table.name}` }, details: problems },
    );
  }
  const store = chTable(layout.database, layout.store);
  if (!exists) {
    await client.command(layout.storeDdl);
    actions.push(`created ClickHouse table ${layout.database}.${layout.store}`);
  }
  for (const c of missing) {
    try {
      await client.command(`ALTER TABLE ${store} ADD COLUMN ${chIdent(c.name)} ${c.type}`);
      actions.push(`added ClickHouse column ${layout.store}.${c.name} ${c.type}`);
    } catch (err) {
      if (clickhouseCodeOf(err) !== CLICKHOUSE_COLUMN_EXISTS) throw err; // added by a concurrent migrate
    }
  }
  await client.command(layout.loadsDdl);
  if (await replaceView(target)) actions.push(`${exists ? 'updated' : 'created'} ClickHouse view ${layout.database}.${layout.view}`);
  return actions;
}

/** `migrate`'s step for one ClickHouse table: connects, ensures, disconnects. */
export async function migrateClickHouseTable(pipeline: Pipeline, table: Table): Promise<string[]> {
  const target = clickhouseTarget(pipeline, table);
  try {
    return await ensureClickHouseTable(target, pipeline, table);
  } finally {
    target.client.close();
  }
}

/** Puts the wanted view in place unless the current one is the same; returns whether it changed. */
async function replaceView({ client, layout }: ClickHouseTarget): Promise<boolean> {
  const db = layout.database;
  const probe = `${layout.view}__probe_${randomBytes(4).toString('hex')}`;
  await client.command(`CREATE VIEW ${chTable(db, probe)} AS ${layout.viewSelect}`);
  let renamed = false;
  try {
    const rows = await client.select<{ name: string; create_table_query: string }>(
      `SELECT name, create_table_query FROM system.tables WHERE database = ${chString(db)} AND name IN (${chString(layout.view)}, ${chString(probe)})`,
    );
    // "CREATE VIEW db.name (columns) AS SELECT ...": compare from the column list on.
    const body = (name: string) => {
      const q = rows.find((r) => r.name === name)?.create_table_query;
      return q === undefined ? undefined : q.slice(q.indexOf(' ('));
    };
    if (body(layout.view) === body(probe)) return false;
    await client.command(`DROP TABLE IF EXISTS ${chTable(db, layout.view)}`);
    try {
      await client.command(`RENAME TABLE ${chTable(db, probe)} TO ${chTable(db, layout.view)}`);
      renamed = true;
    } catch (err) {
      // A concurrent migrate or loader put the same view in place first.
      if (clickhouseCodeOf(err) !== CLICKHOUSE_TABLE_EXISTS) throw err;
    }
    return true;
  } finally {
    if (!renamed) {
      // Best effort: a leftover probe view is harmless and dropped by hand.
      await client.command(`DROP TABLE IF EXISTS ${chTable(db, probe)}`).catch(() => undefined);
    }
  }
}
