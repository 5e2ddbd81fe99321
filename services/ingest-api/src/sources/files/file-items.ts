/**
 * What a file reader yields (items in file order, each with its line number) and the options it
 * reads with; shared by the CSV reader (csv-reader.ts) and the NDJSON/JSON readers
 * (record-reader.ts).
 */
import type { FieldTypes } from './csv-cast';

/** One item of a file: a record, or a row that could not be read. */
export type FileItem =
  | { line: number; record: Record<string, unknown> }
  /** A record as JSON text (`ReadOptions.json`). */
  | { line: number; json: string }
  | { line: number; error: string; raw?: string };

/** A concrete file format. */
export type FileFormat = 'csv' | 'json' | 'ndjson';

/** The whole file is unreadable as its format (not JSON at all, truncated document). */
export class FileFormatError extends Error {
  override readonly name = 'FileFormatError';
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

/** Options of readItems. */
export interface ReadOptions {
  format: FileFormat;
  csv: { delimiter: string; quote: string; header: boolean; columns?: string[] };
  /** Column or key renames, file name to field name. */
  mapping: Record<string, string>;
  types: FieldTypes;
  /**
   * Records as JSON text (`json` items), for a source without a schema: CSV rows written from their
   * cells, no object per row where the file allows (with `types`, the cast object's text); NDJSON
   * lines and JSON elements as they are in the file, unless `mapping` renames keys.
   */
  json?: boolean;
}

/** The field name of file column or key `name` (own entries of the mapping only: `constructor` is no rename). */
export const renamed = (name: string, mapping: Record<string, string>): string => (Object.hasOwn(mapping, name) ? mapping[name]! : name);

export function rename(rec: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  if (Object.keys(mapping).length === 0) return rec;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) out[renamed(k, mapping)] = v;
  return out;
}

/** Each item as a batch of its own. */
export async function* single(items: AsyncIterable<FileItem>): AsyncGenerator<FileItem[]> {
  for await (const item of items) yield [item];
}
