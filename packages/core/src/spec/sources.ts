/**
 * Config shapes of the source kinds. Each kind's implementation (ingest-api `sources/<kind>.ts`)
 * re-exports its shape as `spec`; a registry test checks that both lists agree.
 */
import { z } from 'zod';
import { rate } from './common';
import { restSourceSpec } from './rest-source';
import { fileSourceSpec, objectStoreSourceSpec } from './file-sources';
import { postgresCdcSourceSpec, postgresPollSourceSpec } from './postgres-sources';

export * from './schedule';
export * from './rest-source';
export * from './postgres-sources';
export * from './file-sources';

const schemaRef = z
  .string()
  .meta({ description: 'Path of a JSON Schema file, relative to the pipeline file, that each record must satisfy.' });

/** `push`: clients POST records to the ingest API. */
export const pushSourceSpec = z
  .strictObject({
    kind: z.literal('push'),
    schema: schemaRef.optional(),
    description: z.string().optional(),
  })
  .meta({ title: 'push source', description: 'Records POSTed to /v1/pipelines/{pipeline}/sources/{source}/records.' });

/** `generator`: synthetic records at a steady rate (demos, load tests). */
export const generatorSourceSpec = z
  .strictObject({
    kind: z.literal('generator'),
    generator: z.enum(['traffic', 'transactions']).meta({
      description:
        'Which simulator produces the records: `traffic` (toll gantry passages) or `transactions` (card payments, with fraud patterns).',
    }),
    rate: rate.default(100).meta({ description: 'Records per second, e.g. `500/s`.' }),
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

/** All source kinds, keyed by `kind`. */
export const SOURCE_SPECS = {
  push: pushSourceSpec,
  generator: generatorSourceSpec,
  rest: restSourceSpec,
  postgres_cdc: postgresCdcSourceSpec,
  postgres_poll: postgresPollSourceSpec,
  file: fileSourceSpec,
  object_store: objectStoreSourceSpec,
} as const;

/** A source declaration. */
export const sourceSpec = z.discriminatedUnion('kind', [
  pushSourceSpec,
  generatorSourceSpec,
  restSourceSpec,
  postgresCdcSourceSpec,
  postgresPollSourceSpec,
  fileSourceSpec,
  objectStoreSourceSpec,
]);

/** A parsed source declaration. */
export type SourceSpec = z.infer<typeof sourceSpec>;
