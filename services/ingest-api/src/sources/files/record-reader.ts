/**
 * Reads records from a file's byte stream, in order, each with its line number; rows that cannot
 * be parsed come out as errors in their place, so the good rows around them go on. CSV goes through
 * csv-reader.ts (a fast path for simple lines, csv-parse for the rest), NDJSON reads line by line,
 * JSON goes through jsonElements.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseJsonExact } from '@tributary/contract/schema';
import { readCsv } from './csv-reader';
import { FileFormatError, rename, single, type FileFormat, type FileItem, type ReadOptions } from './file-items';
import { JsonDocumentError, jsonElements } from './json-elements';

export { readCsvWithCsvParse } from './csv-reader';
export { FileFormatError, type FileFormat, type FileItem, type ReadOptions } from './file-items';

/** Picks the format: explicit, else by extension; undefined when `auto` cannot tell. */
export function formatFor(name: string, format: 'auto' | FileFormat): FileFormat | undefined {
  if (format !== 'auto') return format;
  const ext = name.toLowerCase().split('.').pop();
  return ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext === 'ndjson' || ext === 'jsonl' ? 'ndjson' : undefined;
}

/** A line break: a record's text in a message is one line. */
const LINE_BREAK = /[\r\n]/;

function objectOrError(line: number, text: string, o: ReadOptions): FileItem {
  // As JSON text, a one-line text without renames travels as it is: JSON.parse only checks it
  // (every digit of a long number stays as written). Else parsed exactly, renamed (and serialised).
  const asIs = o.json === true && Object.keys(o.mapping).length === 0 && !LINE_BREAK.test(text);
  let v: unknown;
  try {
    v = asIs ? JSON.parse(text) : parseJsonExact(text);
  } catch (err) {
    return { line, error: `invalid JSON: ${(err as Error).message}`, raw: text.slice(0, 2000) };
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return { line, error: 'not a JSON object', raw: text.slice(0, 2000) };
  if (asIs) return { line, json: text };
  const record = rename(v as Record<string, unknown>, o.mapping);
  return o.json ? { line, json: JSON.stringify(record) } : { line, record };
}

async function* readNdjson(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    const text = (n === 1 ? raw.replace(/^\uFEFF/, '') : raw).trim();
    if (text === '') continue;
    yield objectOrError(n, text.charCodeAt(0) === 0x1e ? text.slice(1) : text, o);
  }
}

async function* readJson(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  input.setEncoding('utf8');
  try {
    for await (const el of jsonElements(input as AsyncIterable<string>)) {
      yield 'error' in el ? { line: el.line, error: el.error } : objectOrError(el.line, el.text, o);
    }
  } catch (err) {
    if (err instanceof JsonDocumentError) throw new FileFormatError(err.message, err.line);
    throw err;
  }
}

/**
 * Yields the items of `input` in file order, in batches (as many as came at once: a CSV file read
 * as JSON text comes a chunk of the file at a time). Throws FileFormatError when the file as a
 * whole is unreadable.
 */
export function readItemBatches(input: Readable, o: ReadOptions): AsyncGenerator<FileItem[]> {
  return o.format === 'csv' ? readCsv(input, o) : single(o.format === 'ndjson' ? readNdjson(input, o) : readJson(input, o));
}

/** Yields the items of `input` in file order. Throws FileFormatError when the file as a whole is unreadable. */
export async function* readItems(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  for await (const batch of readItemBatches(input, o)) yield* batch;
}
