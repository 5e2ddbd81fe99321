/** The `upsert` load mode's table config (implemented by the loader's `modes/upsert.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { lookupsSpec } from '../lookups';
import { tableBase, tableStorage } from '../table-base';

/** A table in `upsert` mode. */
export const upsertModeSpec = z
  .strictObject({
    ...tableBase,
    mode: z.literal('upsert'),
    key: z.array(identifier).min(1).meta({ description: 'Natural key: the newest record per key wins.' }),
    position: identifier.optional().meta({
      unset: 'the latest record in stream order wins',
      description:
        "Field holding each record's source position: a stored row is replaced only by a record at the same or a later position, whatever the order records arrive in, so a re-read (`tributary sources resnapshot`) or a late delivery never overwrites a newer change. A `string` field holds PostgreSQL LSNs (a `postgres_cdc` record's `_lsn`, kept by a step such as `map: { source_lsn: _lsn }`) and is compared as `pg_lsn`; an `integer`, `number`, `decimal`, `timestamp` or `date` field compares as its type. A record without a position never replaces a row that has one (it counts as unchanged).",
    }),
    lookups: lookupsSpec.optional(),
    ...tableStorage,
  })
  .meta({ title: 'upsert', description: 'Inserts new keys and overwrites existing ones with the latest record.' });
