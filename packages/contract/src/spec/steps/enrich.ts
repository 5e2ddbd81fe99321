/** The `enrich` step's config: adds fields from reference data looked up by key (implemented by the transformer's `steps/enrich.ts`). */
import { z } from 'zod';
import { duration, identifier } from '../common';

/** Config of the `enrich` step. */
export const enrichStepSpec = z
  .strictObject({
    from: z
      .union([
        z.strictObject({ table: identifier.meta({ description: 'Warehouse table (schema `warehouse`).' }) }),
        z.strictObject({
          dataset: identifier.meta({ description: 'A dataset of this pipeline, kept current in JetStream KV by the transformer.' }),
        }),
      ])
      .meta({ description: 'Reference data: `{ table: dim_card }` or `{ dataset: venues }`.' }),
    on: z
      .record(z.string().min(1), identifier)
      .refine((o) => Object.keys(o).length > 0, 'name at least one field')
      .meta({ description: 'Record field to reference field: `{ card_id: card_id }`.' }),
    fields: z
      .record(identifier, identifier)
      .refine((f) => Object.keys(f).length > 0, 'name at least one field')
      .meta({ description: 'Fields to add: `{ new_name: reference_field }`.' }),
    on_miss: z.enum(['keep', 'drop', 'dead_letter', 'retry']).default('keep').meta({
      description:
        'No reference row: `keep` (fields null), `drop` (counted as filtered), `dead_letter`, or `retry` (the batch waits and is retried, for reference data that arrives later).',
    }),
    cache_ttl: duration
      .default(60_000)
      .meta({ description: "How long a looked-up row is reused (and, from a table, a miss; a dataset's misses are looked up again)." }),
    cache_size: z.number().int().min(0).default(10_000).meta({ description: 'Rows kept in the cache.' }),
  })
  .meta({ description: 'Adds fields from reference data looked up by key, with a cache.' });
