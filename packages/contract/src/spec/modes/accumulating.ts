/** The `accumulating` load mode's table config: an accumulating snapshot fact (loader `modes/accumulating.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { lookupsSpec } from '../lookups';
import { tableBase, tableStorage } from '../table-base';

/** Merge rule of one column of an accumulating snapshot. */
export const accumulateRule = z.enum(['latest', 'earliest', 'min', 'max', 'sum']);

/** `accumulating`: accumulating snapshot fact. */
export const accumulatingSpec = z
  .strictObject({
    ...tableBase,
    mode: z.literal('accumulating'),
    key: z.array(identifier).min(1).meta({ description: 'The process instance (e.g. the order), one row each.' }),
    order_by: identifier.optional().meta({
      unset: 'arrival order',
      description:
        'Event order field (timestamp, date or integer): `latest` takes the value of the newest event, `earliest` of the oldest, whatever the arrival order. Without it, arrival order.',
    }),
    columns: z.record(identifier, accumulateRule).default({}).meta({
      description:
        'Merge rule per column: `latest` (default), `earliest`, `min`, `max` (milestones: e.g. `delivered_at: min`), `sum`. A NULL in an event never overwrites a value.',
    }),
    lookups: lookupsSpec.optional(),
    ...tableStorage,
  })
  .meta({
    title: 'accumulating',
    description: 'Accumulating snapshot fact: one row per process instance whose milestone columns fill in as events arrive, in any order.',
  });
