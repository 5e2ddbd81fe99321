/**
 * Config shapes of the PostgreSQL pull sources: `postgres_cdc` (logical replication with
 * pgoutput) and `postgres_poll` (a watermark on an `updated_at`-style column). Both name a
 * `postgres` connection. The implementations are `services/ingest-api/src/sources/postgres-*.ts`.
 */
import { z } from 'zod';
import { duration, identifier } from './common';
import { pullScheduleSpec } from './schedule';

const schemaRef = z
  .string()
  .meta({ description: 'Path of a JSON Schema file, relative to the pipeline file, that each record must satisfy.' });

/** A table name, optionally schema-qualified (`public.orders`); unqualified names are in `public`. */
export const qualifiedTable = z
  .string()
  .regex(/^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/, 'must be table or schema.table (unquoted identifiers)')
  .meta({ description: 'A table, `table` (schema `public`) or `schema.table`.' });

/** A column name. */
const column = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]*$/, 'must be a column name (an unquoted identifier)');

/** `postgres_cdc`: inserts, updates and deletes of chosen tables, from a logical replication slot. */
export const postgresCdcSourceSpec = z
  .strictObject({
    kind: z.literal('postgres_cdc'),
    connection: identifier.meta({ description: 'A `postgres` connection; its user needs the REPLICATION attribute (or superuser).' }),
    tables: z.array(qualifiedTable).min(1).meta({ description: 'Tables whose changes are captured, e.g. `[public.orders, payments]`.' }),
    publication: identifier.optional().meta({
      description:
        'Publication to read; `trib_<pipeline>_<source>` when unset. Created (or extended with missing tables) when `create_publication` is on.',
    }),
    slot: identifier.optional().meta({
      description: 'Logical replication slot; `trib_<pipeline>_<source>` when unset. Created on first run, with the initial snapshot.',
    }),
    create_publication: z.boolean().default(true).meta({
      description:
        'Create the publication, or add missing tables to it; off: only check it covers `tables` (for a DBA-managed publication).',
    }),
    snapshot: z.enum(['initial', 'never']).default('initial').meta({
      description:
        "`initial`: when the slot is created, read every table at the slot's start point first (records with `_op: read`); `never`: changes only.",
    }),
    heartbeat: duration.default(10_000).meta({
      description:
        'How often a heartbeat is written to the WAL (so an idle database does not pile up WAL behind the slot) and the slot lag metric refreshed.',
    }),
    batch_records: z.number().int().min(1).max(100_000).default(1000).meta({ description: 'Changes per published batch at most.' }),
    flush_interval: duration.default(200).meta({ description: 'A partial batch is published after waiting this long for more changes.' }),
    schema: schemaRef.optional(),
    description: z.string().optional(),
  })
  .meta({
    title: 'postgres_cdc source',
    description:
      'Change data capture over logical replication (`pgoutput`, `wal_level=logical`). Each record is the row plus `_table`, `_op` (insert, update, delete, read), `_lsn` and `_commit_at`. Runs continuously on one replica at a time.',
  });

/** `postgres_poll`: rows new or changed since the last run, by a watermark column and the key. */
export const postgresPollSourceSpec = z
  .strictObject({
    kind: z.literal('postgres_poll'),
    connection: identifier.meta({ description: 'A `postgres` connection (a read-only user is enough).' }),
    table: qualifiedTable,
    columns: z.array(column).min(1).optional().meta({ description: 'Columns to read; all when unset.' }),
    cursor_column: column.default('updated_at').meta({
      description:
        'A `timestamptz` (or `timestamp`, read as UTC) column every insert and update sets to the time of the change, e.g. with `now()`.',
    }),
    key: z.array(column).min(1).optional().meta({ description: 'Tie-break columns, unique together; the primary key when unset.' }),
    schedule: pullScheduleSpec.default({ every: 10_000 }),
    safety_lag: duration.default(5_000).meta({
      description:
        "Rows whose cursor value is newer than the database's now() minus this are left for the next run, so rows of transactions still in flight are not skipped.",
    }),
    wait_for_open_transactions: z.boolean().default(true).meta({
      description:
        "Also hold the watermark below the start of the oldest open transaction of the database (needs `pg_read_all_stats` to see other users' sessions).",
    }),
    batch_records: z.number().int().min(1).max(100_000).default(1000).meta({ description: 'Rows per query page and published batch.' }),
    schema: schemaRef.optional(),
    description: z.string().optional(),
  })
  .meta({
    title: 'postgres_poll source',
    description:
      'Polls a table for rows whose `cursor_column` moved past the watermark, keyset-paginated on (cursor_column, key), so no row is missed or repeated. Deletes are not seen (use postgres_cdc). Records carry `_table`, `_op: upsert` and `_commit_at` (the cursor value).',
  });

/**
 * The replication slot of a `postgres_cdc` source: its `slot`, else `trib_<pipeline>_<source>`
 * (cut to PostgreSQL's 63 characters). The ingest-api streams from it; the monitor reads its lag.
 */
export function cdcSlotName(pipeline: string, source: string, slot?: string): string {
  return slot ?? `trib_${pipeline}_${source}`.slice(0, 63);
}
