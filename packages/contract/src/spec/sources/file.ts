/**
 * Config shapes of the file pull sources: `file` (a watched folder, plus an optional upload
 * endpoint) and `object_store` (new objects under a prefix of an S3-compatible bucket). Both read
 * CSV, JSON and NDJSON files as streams. The implementations are
 * `services/ingest-api/src/sources/file.ts` and `object-store.ts`.
 */
import { z } from 'zod';
import { duration, identifier } from './common';
import { pullScheduleSpec } from './schedule';

const schemaRef = z.string().meta({
  description:
    'Path of a JSON Schema file, relative to the pipeline file: each record must satisfy it, and CSV columns take their types from it.',
});

/** How a file's bytes become records. */
export const fileFormatSpec = z.enum(['auto', 'csv', 'json', 'ndjson']).meta({
  description: '`auto` picks by extension: `.csv`, `.json` (an array of records, or one record), `.ndjson`/`.jsonl` (one record per line).',
});

/** CSV dialect. */
export const csvOptionsSpec = z
  .strictObject({
    delimiter: z.string().min(1).max(4).default(','),
    quote: z.string().length(1).default('"'),
    header: z.boolean().default(true).meta({ description: 'The first line names the columns; off: `columns` names them.' }),
    columns: z.array(z.string().min(1)).min(1).optional().meta({ description: 'Column names of a file without a header row.' }),
  })
  .meta({ title: 'csv options' });

/** Options shared by `file` and `object_store`. */
const fileCommon = {
  pattern: z
    .string()
    .default('*.{csv,json,ndjson,jsonl}')
    .meta({ description: 'Glob on the file name (`*`, `?`, `{a,b}`); other files are left alone.' }),
  format: fileFormatSpec.default('auto'),
  csv: csvOptionsSpec.default({ delimiter: ',', quote: '"', header: true }),
  mapping: z
    .record(z.string(), identifier)
    .default({})
    .meta({ description: 'Renames columns/keys of the file to field names, e.g. `{"Order ID": order_id}`; others keep their name.' }),
  batch_records: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .default(1000)
    .meta({ description: 'Records per published batch (and per offset commit).' }),
  schema: schemaRef.optional(),
  description: z.string().optional(),
};

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
