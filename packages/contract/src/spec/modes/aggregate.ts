/** The `aggregate` load mode's table config (implemented by the loader's `modes/aggregate.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { tableBase, tableStorage } from '../table-base';
import { tableSinkSpec } from '../table-sink';

/** A table in `aggregate` mode. */
export const aggregateModeSpec = z
  .strictObject({
    ...tableBase,
    mode: z.literal('aggregate'),
    key: z
      .array(identifier)
      .min(1)
      .optional()
      .meta({ description: 'Set from the window step (`window_start` and its key fields); if written, it must match.' }),
    ...tableStorage,
    sink: tableSinkSpec.optional(),
  })
  .meta({
    title: 'aggregate',
    description:
      'Merges the partial aggregates of a `window` dataset additively (counts and sums add, min/max keep the extreme, averages are sum over count), so results are exact under redelivery and scale-out.',
  });
