/** The `append` load mode's table config (implemented by the loader's `modes/append.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { lookupsSpec } from '../lookups';
import { tableBase, tableStorage } from '../table-base';
import { tableSinkSpec } from '../table-sink';

/** A table in `append` mode. */
export const appendModeSpec = z
  .strictObject({
    ...tableBase,
    mode: z.literal('append'),
    key: z
      .array(identifier)
      .min(1)
      .optional()
      .meta({ description: 'Natural key: a record whose key is already in the table is skipped and counted.' }),
    lookups: lookupsSpec.optional(),
    ...tableStorage,
    sink: tableSinkSpec.optional(),
  })
  .meta({ title: 'append', description: 'Inserts every record.' });
