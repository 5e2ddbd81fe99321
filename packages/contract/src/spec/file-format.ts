/**
 * What the file pull sources (`file`, `object_store`) share: the file formats, the CSV dialect and
 * the options both kinds take.
 */
import { z } from 'zod';
import { identifier } from './common';

/** A file source's `schema:` (CSV columns also take their types from it). */
export const fileSchemaRef = z.string().meta({
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
export const fileCommon = {
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
  schema: fileSchemaRef.optional(),
  description: z.string().optional(),
};
