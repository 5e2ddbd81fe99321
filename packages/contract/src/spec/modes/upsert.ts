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
    lookups: lookupsSpec.optional(),
    ...tableStorage,
  })
  .meta({ title: 'upsert', description: 'Inserts new keys and overwrites existing ones with the latest record.' });
