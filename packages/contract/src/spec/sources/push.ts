/** The `push` source's config (implemented by the ingest-api's `sources/push.ts`). */
import { z } from 'zod';
import { schemaRef, sourceTimeField } from '../common';

/** `push`: clients POST records to the ingest API. */
export const pushSourceSpec = z
  .strictObject({
    kind: z.literal('push'),
    schema: schemaRef.optional(),
    source_time: sourceTimeField.optional(),
    description: z.string().optional(),
  })
  .meta({
    title: 'push source',
    description:
      'Records POSTed to /v1/pipelines/{pipeline}/sources/{source}/records. A request header `Trib-Source-Time` (RFC 3339) gives the source time of all its records, instead of `source_time`.',
  });
