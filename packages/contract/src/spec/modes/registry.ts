/**
 * Config shapes of warehouse tables and their load modes. Each mode's implementation
 * (loader `modes/<mode>.ts`) re-exports its shape as `spec`; a registry test checks that both agree.
 */
import { z } from 'zod';
import { identifier } from './common';
import { accumulatingSpec, lookupsSpec, scd2Spec } from './dimensional-tables';
import { indexOptions, partitionOptions } from './table-storage';
import { tableSinkSpec } from './table-sink';

const base = {
  from: identifier.meta({ description: 'The dataset whose records this table receives.' }),
  description: z.string().optional(),
};
/** Storage options (table-storage.ts), after each mode's own fields. */
const storage = { ...partitionOptions, ...indexOptions };

/** Config of each load mode, keyed by mode name. */
export const MODE_SPECS = {
  append: z
    .strictObject({
      ...base,
      mode: z.literal('append'),
      key: z
        .array(identifier)
        .min(1)
        .optional()
        .meta({ description: 'Natural key: a record whose key is already in the table is skipped and counted.' }),
      lookups: lookupsSpec.optional(),
      ...storage,
      sink: tableSinkSpec.optional(),
    })
    .meta({ title: 'append', description: 'Inserts every record.' }),
  upsert: z
    .strictObject({
      ...base,
      mode: z.literal('upsert'),
      key: z.array(identifier).min(1).meta({ description: 'Natural key: the newest record per key wins.' }),
      lookups: lookupsSpec.optional(),
      ...storage,
    })
    .meta({ title: 'upsert', description: 'Inserts new keys and overwrites existing ones with the latest record.' }),
  aggregate: z
    .strictObject({
      ...base,
      mode: z.literal('aggregate'),
      key: z
        .array(identifier)
        .min(1)
        .optional()
        .meta({ description: 'Set from the window step (`window_start` and its key fields); if written, it must match.' }),
      ...storage,
      sink: tableSinkSpec.optional(),
    })
    .meta({
      title: 'aggregate',
      description:
        'Merges the partial aggregates of a `window` dataset additively (counts and sums add, min/max keep the extreme, averages are sum over count), so results are exact under redelivery and scale-out.',
    }),
  scd2: scd2Spec,
  accumulating: accumulatingSpec,
} as const;

/** A load mode name. */
export type LoadMode = keyof typeof MODE_SPECS;

/** A table declaration. */
export const tableSpec = z.discriminatedUnion('mode', [
  MODE_SPECS.append,
  MODE_SPECS.upsert,
  MODE_SPECS.aggregate,
  MODE_SPECS.scd2,
  MODE_SPECS.accumulating,
]);

/** A parsed table declaration. */
export type TableSpec = z.infer<typeof tableSpec>;
