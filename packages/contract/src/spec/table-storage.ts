/**
 * Storage options of warehouse tables: time partitioning, retention of old partitions and
 * indexes declared in the spec. `tables.ts` and `dimensional-tables.ts` spread them into the load
 * modes that can take them (scd2 cannot be partitioned: its one-current-row-per-member index cannot
 * include a time column). Cross-references are checked in `warehouse/storage-spec.ts`; the DDL is
 * `warehouse/partitions.ts` and `warehouse/declared-indexes.ts`.
 */
import { z } from 'zod';
import { duration, identifier } from './common';

/** Characters a partition name adds to the table name (`_p20261122`); table names leave room for it. */
export const PARTITION_SUFFIX_LENGTH = 10;

/** Length of one partition. */
export const PARTITION_INTERVALS = ['day', 'week', 'month'] as const;
/** A partition interval. */
export type PartitionInterval = (typeof PARTITION_INTERVALS)[number];

/** Index access methods a declared index may use. */
export const INDEX_METHODS = ['btree', 'brin', 'hash', 'gin'] as const;
/** An index access method. */
export type IndexMethod = (typeof INDEX_METHODS)[number];

/** `partition:` of a table. */
export const partitionSpec = z
  .strictObject({
    by: identifier.meta({
      description:
        'A `timestamp` or `date` field of the dataset. Rows go to the partition of their interval (UTC); a row without a value goes to the DEFAULT partition. In a table with a `key`, the key must include this field.',
    }),
    interval: z.enum(PARTITION_INTERVALS).default('day').meta({
      description: 'Length of a partition: `day`, `week` (ISO, from Monday) or `month`, in UTC. Changing it later stops the table.',
    }),
    premake: z
      .number()
      .int()
      .min(0)
      .max(366)
      .default(3)
      .meta({ description: 'Future partitions created ahead of time by `migrate` and by the loader every retention round.' }),
  })
  .meta({
    description:
      'PostgreSQL range partitioning by time: partitions `<table>_pYYYYMMDD` (the interval start) and `<table>_default`. The loader creates the partition of a row before loading it; changing `partition` on an existing table is an incompatible change.',
  });

/** Columns Tributary adds to tables whose names start with `_` (not `identifier`s): lineage and the accumulating value order. */
export const SYSTEM_COLUMNS = ['_msg_id', '_ingested_at', '_source_time', '_loaded_at', '_value_order'] as const;

/** One entry of `indexes:`. */
export const indexSpec = z
  .strictObject({
    columns: z
      .array(z.union([identifier, z.enum(SYSTEM_COLUMNS)]))
      .min(1)
      .max(8)
      .meta({ description: 'Columns in index order: fields of the dataset or columns the mode adds (`_loaded_at`, lookups, ...).' }),
    unique: z
      .boolean()
      .default(false)
      .meta({ description: 'A unique index (btree only); on a partitioned table it must include the partition field.' }),
    method: z.enum(INDEX_METHODS).default('btree').meta({
      description:
        '`btree` (default), `brin` (compact, for columns that follow insertion order), `hash` (one column) or `gin` (json columns).',
    }),
  })
  .meta({
    description:
      'An index, named `<table>_<columns>[_<method>]_idx|_uniq` (hashed when longer than 63 characters). `migrate` creates new ones and drops those removed from the spec.',
  });

/** `indexes:`, for every mode. */
export const indexOptions = {
  indexes: z.array(indexSpec).optional().meta({ description: 'Indexes beyond the key, created and kept in step by `migrate`.' }),
};

/** `partition:`, `retention:` and `retention_archive:`, for modes that can be partitioned. */
export const partitionOptions = {
  partition: partitionSpec.optional(),
  retention: duration.optional().meta({
    description:
      'Keep this long, e.g. `400d` (needs `partition`). The loader archives, then drops, every partition entirely older than now minus this, and archives and deletes DEFAULT rows that old; a row that arrives later than this goes to DEFAULT and is archived the same way.',
  }),
  retention_archive: z.boolean().optional().meta({
    unset: '`true`',
    description:
      'Whether retention writes rows out (gzip NDJSON, `RETENTION_ARCHIVE_DIR`) before dropping them. Default true; `false` drops without a copy.',
  }),
};

/** Parsed storage options, as a table may carry them. */
export interface TableStorage {
  partition?: z.output<typeof partitionSpec>;
  retention?: number;
  retention_archive?: boolean;
  indexes?: z.output<typeof indexSpec>[];
}
