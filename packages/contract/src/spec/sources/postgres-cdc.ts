/**
 * The `postgres_cdc` source's config: logical replication with pgoutput from a `postgres`
 * connection (implemented by the ingest-api's `sources/postgres-cdc.ts`).
 */
import { z } from 'zod';
import { duration, identifier, qualifiedTable, schemaRef } from '../common';

/** `postgres_cdc`: inserts, updates and deletes of chosen tables, from a logical replication slot. */
export const postgresCdcSourceSpec = z
  .strictObject({
    kind: z.literal('postgres_cdc'),
    connection: identifier.meta({ description: 'A `postgres` connection; its user needs the REPLICATION attribute (or superuser).' }),
    tables: z.array(qualifiedTable).min(1).meta({ description: 'Tables whose changes are captured, e.g. `[public.orders, payments]`.' }),
    publication: identifier.optional().meta({
      unset: '`trib_<pipeline>_<source>`',
      description:
        'Publication to read; `trib_<pipeline>_<source>` when unset. Created (or extended with missing tables) when `create_publication` is on.',
    }),
    slot: identifier.optional().meta({
      unset: '`trib_<pipeline>_<source>`',
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

/**
 * The replication slot of a `postgres_cdc` source: its `slot`, else `trib_<pipeline>_<source>`
 * (cut to PostgreSQL's 63 characters). The ingest-api streams from it; the monitor reads its lag.
 */
export function cdcSlotName(pipeline: string, source: string, slot?: string): string {
  return slot ?? `trib_${pipeline}_${source}`.slice(0, 63);
}
