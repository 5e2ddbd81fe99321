/**
 * Reads records from a file's byte stream, in order, each with its line number; rows that cannot
 * be parsed come out as errors in their place, so the good rows around them go on. CSV uses
 * csv-parse (streaming, with column renames and types from the source schema), NDJSON reads line
 * by line, JSON goes through jsonElements.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseJsonExact } from '@tributary/contract/schema';
import { parse as parseCsv } from 'csv-parse';
import { castCsvRow, type FieldTypes } from './csv-cast';
import { JsonDocumentError, jsonElements } from './json-elements';

/** One item of a file: a record, or a row that could not be read. */
export type FileItem = { line: number; record: Record<string, unknown> } | { line: number; error: string; raw?: string };

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
}

/** Picks the format: explicit, else by extension; undefined when `auto` cannot tell. */
export function formatFor(name: string, format: 'auto' | FileFormat): FileFormat | undefined {
  if (format !== 'auto') return format;
  const ext = name.toLowerCase().split('.').pop();
  return ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext === 'ndjson' || ext === 'jsonl' ? 'ndjson' : undefined;
}

function rename(rec: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  if (Object.keys(mapping).length === 0) return rec;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) out[mapping[k] ?? k] = v;
  return out;
}

function objectOrError(line: number, text: string, mapping: Record<string, string>): FileItem {
  let v: unknown;
  try {
    v = parseJsonExact(text);
  } catch (err) {
    return { line, error: `invalid JSON: ${(err as Error).message}`, raw: text.slice(0, 2000) };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { line, error: 'not a JSON object', raw: text.slice(0, 2000) };
  return { line, record: rename(v as Record<string, unknown>, mapping) };
}

async function* readCsv(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  // csv-parse reports bad rows through on_skip, possibly ahead of buffered good rows: both are
  // merged back into line order, so item numbering (and thus message IDs) never depends on timing.
  const skipped: FileItem[] = [];
  const parser = parseCsv({
    delimiter: o.csv.delimiter,
    quote: o.csv.quote,
    bom: true,
    raw: true, // hands on_skip the bad row's text, for the dead letter
    skip_empty_lines: true,
    skip_records_with_error: true,
    columns: o.csv.header ? (header: string[]) => header.map((h) => o.mapping[h] ?? h) : (o.csv.columns ?? true),
    on_skip: (err: { lines?: number; message: string } | undefined, raw?: string) => {
      if (err) skipped.push({ line: err.lines ?? 0, error: err.message, ...(raw ? { raw: String(raw).slice(0, 2000) } : {}) });
    },
  });
  // Each record's line, read from the parser's `info` as it pushes the record (csv-parse pushes
  // while it reads, so `info.lines` is then the record's last line): `info: true` builds two
  // objects of parser state per row instead, about a tenth of the file source's CPU.
  const lines: number[] = [];
  const push = parser.push.bind(parser);
  parser.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null) lines.push(parser.info.lines);
    return push(chunk, encoding);
  };
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);
  let next = 0;
  for await (const { record } of parser as AsyncIterable<{ record: Record<string, string> }>) {
    const line = lines[next++]!;
    if (next === 4096) {
      lines.splice(0, next);
      next = 0;
    }
    while (skipped.length > 0 && skipped[0]!.line < line) yield skipped.shift()!;
    yield { line, record: castCsvRow(o.csv.header ? record : (rename(record, o.mapping) as Record<string, string>), o.types) };
  }
  yield* skipped.splice(0);
}

async function* readNdjson(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const text = (n === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') continue;
    yield objectOrError(n, text.charCodeAt(0) === 0x1e ? text.slice(1) : text, o.mapping);
  }
}

async function* readJson(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  input.setEncoding('utf8');
  try {
    for await (const el of jsonElements(input as AsyncIterable<string>)) {
      yield 'error' in el ? { line: el.line, error: el.error } : objectOrError(el.line, el.text, o.mapping);
    }
  } catch (err) {
    if (err instanceof JsonDocumentError) throw new FileFormatError(err.message, err.line);
    throw err;
  }
}

/** Yields the items of `input` in file order. Throws FileFormatError when the file as a whole is unreadable. */
export function readItems(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  return o.format === 'csv' ? readCsv(input, o) : o.format === 'ndjson' ? readNdjson(input, o) : readJson(input, o);
}
