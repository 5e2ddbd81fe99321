/** The `postgres_poll` source's config: a watermark on an `updated_at`-style column of a `postgres` connection (ingest-api `sources/postgres-poll.ts`). */
import { z } from 'zod';
import { duration, identifier, qualifiedTable, schemaRef, sourceColumn as column, sourceTimeField } from '../common';
import { pullScheduleSpec } from '../schedule';

/** `postgres_poll`: rows new or changed since the last run, by a watermark column and the key. */
export const postgresPollSourceSpec = z
  .strictObject({
    kind: z.literal('postgres_poll'),
    connection: identifier.meta({ description: 'A `postgres` connection (a read-only user is enough).' }),
    table: qualifiedTable,
    columns: z.array(column).min(1).optional().meta({ unset: 'all columns', description: 'Columns to read; all when unset.' }),
    cursor_column: column.default('updated_at').meta({
      description:
        'A `timestamptz` (or `timestamp`, read as UTC) column every insert and update sets to the time of the change, e.g. with `now()`.',
    }),
    key: z
      .array(column)
      .min(1)
      .optional()
      .meta({ unset: 'the primary key', description: 'Tie-break columns, unique together; the primary key when unset.' }),
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
    source_time: sourceTimeField.default('_commit_at'),
    description: z.string().optional(),
  })
  .meta({
    title: 'postgres_poll source',
    description:
      'Polls a table for rows whose `cursor_column` moved past the watermark, keyset-paginated on (cursor_column, key), so no row is missed or repeated. Deletes are not seen (use postgres_cdc). Records carry `_table`, `_op: upsert` and `_commit_at` (the cursor value).',
  });
