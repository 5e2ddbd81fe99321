/** The `object_store` source's config: new objects under a prefix of an S3-compatible bucket (ingest-api `sources/object-store.ts`). */
import { z } from 'zod';
import { identifier } from '../common';
import { fileCommon } from '../file-format';
import { pullScheduleSpec } from '../schedule';

/** `object_store`: new objects under a prefix of an S3-compatible bucket. */
export const objectStoreSourceSpec = z
  .strictObject({
    kind: z.literal('object_store'),
    connection: identifier.meta({ description: 'An `s3` connection (bucket, endpoint, keys).' }),
    prefix: z.string().default('').meta({
      description: 'Key prefix of the landing zone, e.g. `landing/sales/`; keys below `done/` and `failed/` under it are skipped.',
    }),
    ...fileCommon,
    schedule: pullScheduleSpec.default({ every: 30_000 }),
    after: z.enum(['move', 'keep']).default('move').meta({
      description:
        '`move`: a processed object is moved to `<prefix>done/` (or `<prefix>failed/`); `keep`: left in place (KV remembers it is done).',
    }),
  })
  .meta({
    title: 'object_store source',
    description:
      'CSV, JSON and NDJSON objects landing under a prefix of an S3-compatible bucket, streamed, each processed once (ETag and offset kept in JetStream KV), with the same row handling as `file`.',
  });
