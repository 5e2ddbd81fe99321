/**
 * Config shapes of warehouse tables and their load modes. Each mode's implementation
 * (loader `modes/<mode>.ts`) re-exports its shape as `spec`; a registry test checks that both agree.
 */
import { z } from 'zod';
import { identifier } from './common';

const base = {
  from: identifier.meta({ description: 'The dataset whose records this table receives.' }),
  description: z.string().optional(),
};

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
    })
    .meta({ title: 'append', description: 'Inserts every record.' }),
  upsert: z
    .strictObject({
      ...base,
      mode: z.literal('upsert'),
      key: z.array(identifier).min(1).meta({ description: 'Natural key: the newest record per key wins.' }),
    })
    .meta({ title: 'upsert', description: 'Inserts new keys and overwrites existing ones with the latest record.' }),
} as const;

/** A load mode name. */
export type LoadMode = keyof typeof MODE_SPECS;

/** A table declaration. */
export const tableSpec = z.discriminatedUnion('mode', [MODE_SPECS.append, MODE_SPECS.upsert]);

/** A parsed table declaration. */
export type TableSpec = z.infer<typeof tableSpec>;
