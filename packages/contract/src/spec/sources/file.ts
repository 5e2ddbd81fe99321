/**
 * The `file` source's config: a watched folder, plus an optional upload endpoint; CSV, JSON and
 * NDJSON read as streams (implemented by the ingest-api's `sources/file.ts`).
 */
import { z } from 'zod';
import { duration } from '../common';
import { fileCommon } from '../file-format';
import { pullScheduleSpec } from '../schedule';

/** `file`: files dropped into a folder (or uploaded over HTTP), each processed once. */
export const fileSourceSpec = z
  .strictObject({
    kind: z.literal('file'),
    path: z.string().min(1).meta({
      description: 'Watched folder, relative to the pipeline file or absolute. Processed files move to `done/` or `failed/` inside it.',
    }),
    ...fileCommon,
    schedule: pullScheduleSpec.default({ every: 5_000 }),
    min_age: duration.default(1_000).meta({
      description:
        'A file is read only once unchanged for this long, so a file still being copied in waits. Uploads land whole (renamed into place).',
    }),
    upload: z.boolean().default(false).meta({
      description:
        'Accept uploads at `PUT /v1/pipelines/{pipeline}/sources/{source}/files/{name}` (streamed into the folder). With several replicas the folder must be shared.',
    }),
    upload_max_bytes: z
      .number()
      .int()
      .min(1)
      .default(1024 ** 3)
      .meta({ description: 'Largest upload accepted, in bytes (413 beyond).' }),
  })
  .meta({
    title: 'file source',
    description:
      'CSV, JSON and NDJSON files in a folder. Malformed rows are dead-lettered with the file name, line and reason while the good rows go on; a file is processed once (content hash and offset kept in JetStream KV), then moved to `done/` (or `failed/` when unreadable).',
  });
