/** The `generator` source's config (implemented by the ingest-api's `sources/generator.ts`). */
import { z } from 'zod';
import { duration, rate, schemaRef } from '../common';

/** How long a generator runs when its spec does not say (15 minutes). */
export const GENERATOR_DEFAULT_DURATION_MS = 15 * 60_000;

/** `generator`: synthetic records at a steady rate (demos, load tests). */
export const generatorSourceSpec = z
  .strictObject({
    kind: z.literal('generator'),
    generator: z.enum(['traffic', 'transactions']).meta({
      description:
        'Which simulator produces the records: `traffic` (toll gantry passages) or `transactions` (card payments, with fraud patterns).',
    }),
    rate: rate.default(100).meta({ description: 'Records per second, e.g. `500/s`.' }),
    duration: z
      .union([z.literal('unbounded'), duration])
      .default(GENERATOR_DEFAULT_DURATION_MS)
      .meta({
        unset: '`15m`',
        description:
          'How long the generator runs after the ingest-api starts (default `15m`; `unbounded` for load tests). A demo left on must not fill the warehouse. The ingest-api setting `GENERATOR_DURATION` overrides it for every generator.',
      }),
    total: z
      .number()
      .int()
      .min(1)
      .optional()
      .meta({ description: 'Stop after this many records (whichever of `duration` and `total` comes first).' }),
    schema: schemaRef.optional(),
    invalid_ratio: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .meta({ description: 'Share of records made deliberately invalid, to exercise the dead-letter path.' }),
    seed: z.number().int().optional().meta({ description: 'Random seed for reproducible output.' }),
    description: z.string().optional(),
  })
  .meta({ title: 'generator source', description: 'Synthetic records produced by the ingest-api at a steady rate.' });
