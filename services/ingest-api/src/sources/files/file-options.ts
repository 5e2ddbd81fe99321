/**
 * Reading options shared by the `file` and `object_store` sources, from their config.
 */
import { compileRecordSchema } from '@tributary/contract/schema';
import { type Pipeline } from '@tributary/contract/spec';
import { schemaFieldTypes } from './csv-cast';
import { globToRegExp } from './glob';
import type { IngestFileOptions } from './file-ingest';

/** The config fields both file sources share. */
export interface FileSourceConfig {
  pattern: string;
  csv: { delimiter: string; quote: string; header: boolean; columns?: string[] };
  mapping: Record<string, string>;
  batch_records: number;
  schema?: string;
}

/** Ingest options: CSV types and the validator come from the source schema. */
export function ingestOptions(pipeline: Pipeline, config: FileSourceConfig): IngestFileOptions & { match: RegExp } {
  const schema = config.schema ? pipeline.schemas[config.schema] : undefined;
  return {
    match: globToRegExp(config.pattern),
    batchRecords: config.batch_records,
    read: { csv: config.csv, mapping: config.mapping, types: schemaFieldTypes(schema) },
    ...(schema ? { validate: compileRecordSchema(schema, config.schema) } : {}),
  };
}
