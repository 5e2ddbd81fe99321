/**
 * Reads records from a file's byte stream, in order, each with its line number; rows that cannot
 * be parsed come out as errors in their place, so the good rows around them go on. CSV uses
 * csv-parse (streaming, with column renames and types from the source schema), NDJSON reads line
 * by line, JSON goes through jsonElements.
 */
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { parseJsonExact } from '@tributary/contract/schema';
import { parse as parseCsv, type Parser as CsvParser } from 'csv-parse';
import { castCsvRow, type FieldTypes } from './csv-cast';
import { JsonDocumentError, jsonElements } from './json-elements';

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

/** Picks the format: explicit, else by extension; undefined when `auto` cannot tell. */
export function formatFor(name: string, format: 'auto' | FileFormat): FileFormat | undefined {
  if (format !== 'auto') return format;
  const ext = name.toLowerCase().split('.').pop();
  return ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : ext === 'ndjson' || ext === 'jsonl' ? 'ndjson' : undefined;
}

/** The field name of file column or key `name` (own entries of the mapping only: `constructor` is no rename). */
const renamed = (name: string, mapping: Record<string, string>): string => (Object.hasOwn(mapping, name) ? mapping[name]! : name);

function rename(rec: Record<string, unknown>, mapping: Record<string, string>): Record<string, unknown> {
  if (Object.keys(mapping).length === 0) return rec;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rec)) out[renamed(k, mapping)] = v;
  return out;
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

/** Options of csv-parse for a file (or the rest of one, from a record boundary on, with its columns known). */
function csvParser(o: ReadOptions, skipped: FileItem[], columns: string[] | ((header: string[]) => string[]) | true): CsvParser {
  return parseCsv({
    delimiter: o.csv.delimiter,
    quote: o.csv.quote,
    bom: true,
    raw: true, // hands on_skip the bad row's text, for the dead letter
    skip_empty_lines: true,
    skip_records_with_error: true,
    columns,
    on_skip: (err: { lines?: number; message: string } | undefined, raw?: string) => {
      if (err) skipped.push({ line: err.lines ?? 0, error: err.message, ...(raw ? { raw: String(raw).slice(0, 2000) } : {}) });
    },
  });
}

/** Text fed to csv-parse before the rest of a file, and whether it ends in a placeholder row to drop. */
interface Prime {
  text: string;
  placeholder: boolean;
}

/**
 * The prime of a csv-parse started at line `line` of a file with `width` columns known, after
 * `blanks` empty lines: it counts lines (and says them in its messages) as if it had read the file
 * from the start, and its raw text of a bad row starts with those empty lines as it would have:
 * a placeholder row (dropped) where the file had its last row, then the empty lines.
 */
function primeAt(line: number, blanks: number, width: number, delimiter: string): Prime {
  const before = line - 1 - blanks;
  if (before === 0) return { text: '\n'.repeat(blanks), placeholder: false };
  const row = new Array<string>(width).fill('x').join(delimiter);
  return { text: `${'\n'.repeat(before - 1)}${row}\n${'\n'.repeat(blanks)}`, placeholder: true };
}

/**
 * Reads `input` (bytes or text) with csv-parse. `columns` as csv-parse takes them: a header
 * function, `true`, or the names of a file whose header was read already (then `prime`, see primeAt).
 */
async function* readCsvParse(
  input: AsyncIterable<string | Buffer>,
  o: ReadOptions,
  columns: string[] | ((header: string[]) => string[]) | true,
  renames: boolean,
  prime: Prime = { text: '', placeholder: false },
): AsyncGenerator<FileItem> {
  // csv-parse reports bad rows through on_skip, possibly ahead of buffered good rows: both are
  // merged back into line order, so item numbering (and thus message IDs) never depends on timing.
  const skipped: FileItem[] = [];
  const parser = csvParser(o, skipped, columns);
  // Each record's line, read from the parser's `info` as it pushes the record (csv-parse pushes
  // while it reads, so `info.lines` is then the record's last line): `info: true` builds two
  // objects of parser state per row instead, about a tenth of the file source's CPU.
  const lines: number[] = [];
  const push = parser.push.bind(parser);
  parser.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk !== null) lines.push(parser.info.lines);
    return push(chunk, encoding);
  };
  const source = Readable.from(
    (async function* () {
      if (prime.text) yield prime.text;
      yield* input;
    })(),
    { objectMode: false },
  );
  source.on('error', (err) => parser.destroy(err));
  source.pipe(parser);
  let next = 0;
  let drop = prime.placeholder;
  try {
    for await (const { record } of parser as AsyncIterable<{ record: Record<string, string> }>) {
      const line = lines[next++]!;
      if (drop) {
        drop = false;
        continue;
      }
      if (next === 4096) {
        lines.splice(0, next);
        next = 0;
      }
      while (skipped.length > 0 && skipped[0]!.line < line) yield skipped.shift()!;
      const rec = castCsvRow(renames ? (rename(record, o.mapping) as Record<string, string>) : record, o.types);
      yield o.json ? { line, json: JSON.stringify(rec) } : { line, record: rec };
    }
    yield* skipped.splice(0);
  } finally {
    source.destroy();
  }
}

/** Characters JSON.stringify escapes in a string. */
// eslint-disable-next-line no-control-regex
const ESCAPED = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * The cells of a one-line row with `"`-quoted cells, or undefined unless each quoted cell is whole
 * and regular: it starts the cell, its quotes inside are doubled, and its closing quote ends the
 * cell (delimiter or end of line); no quote elsewhere. Anything else (a cell going on to the next
 * line, a stray quote) is left to csv-parse, whose errors it is.
 */
function splitQuoted(line: string, delimiter: string): string[] | undefined {
  const cells: string[] = [];
  let pos = 0;
  for (;;) {
    if (line.charCodeAt(pos) === 34 /* " */) {
      let value = '';
      let from = pos + 1;
      for (;;) {
        const q = line.indexOf('"', from);
        if (q === -1) return undefined;
        value += line.slice(from, q);
        if (line.charCodeAt(q + 1) === 34) {
          value += '"';
          from = q + 2;
          continue;
        }
        pos = q + 1;
        break;
      }
      cells.push(value);
      if (pos === line.length) return cells;
      if (!line.startsWith(delimiter, pos)) return undefined;
      pos += delimiter.length;
    } else {
      const d = line.indexOf(delimiter, pos);
      const cell = line.slice(pos, d === -1 ? line.length : d);
      if (cell.indexOf('"') !== -1) return undefined;
      cells.push(cell);
      if (d === -1) return cells;
      pos = d + delimiter.length;
    }
  }
}

/**
 * Whether rows may be written as JSON text under these column names: an object csv-parse builds
 * would serialise to the same text (no repeated name, no `__proto__`, no array-index name, which
 * an object would move to the front).
 */
function plainColumns(names: string[]): boolean {
  return new Set(names).size === names.length && names.every((n) => n !== '__proto__' && !/^(0|[1-9]\d*)$/.test(n));
}

/**
 * CSV. Hand-written fast path, because csv-parse cost about 8 µs per row of the ingest-api's ~18
 * in the `file` bench (it walks the bytes one at a time, copying each into its raw buffer, and
 * builds a raw string per row): while lines hold neither the quote character nor a carriage
 * return, a line is exactly its cells split on the delimiter (and with `"` quotes, a line of whole,
 * regular quoted cells is split by splitQuoted). A source without a schema gets each
 * row written straight as JSON text (no object per row); with one, the object csv-parse would
 * build, cast. From the first line that is not that simple (a cell over two lines, a stray quote, CRLF line ends), or
 * from the start when the header itself is not, the rest of the file goes through csv-parse with
 * the columns already read, so its quoting rules, errors, raw text and line numbers are
 * csv-parse's (the differential test in record-reader.test.ts holds the two equal).
 */
async function* readCsv(input: Readable, o: ReadOptions): AsyncGenerator<FileItem[]> {
  const headerColumns = (header: string[]): string[] => header.map((h) => renamed(h, o.mapping));
  const fromConfig = !o.csv.header && o.csv.columns;
  const columnsOption = o.csv.header ? headerColumns : (o.csv.columns ?? true);
  // Rows as JSON text written from the cells, or (cells typed by a schema) as objects.
  const asText = o.json === true && !o.types;
  input.setEncoding('utf8');
  const it = (input as AsyncIterable<string>)[Symbol.asyncIterator]();
  const { delimiter, quote } = o.csv;
  let names: string[] | undefined = fromConfig ? o.csv.columns!.map((c) => renamed(c, o.mapping)) : undefined;
  // `{"name":` (then `,"name":`) before each cell.
  let keys: string[] = [];
  const setNames = (n: string[]): boolean => {
    if (!plainColumns(n)) return false;
    names = n;
    keys = n.map((k, i) => `${i === 0 ? '{' : ','}${JSON.stringify(k)}:`);
    return true;
  };
  if (names && !setNames(names)) {
    yield* single(readCsvParse(input, o, columnsOption, true));
    return;
  }
  let lineNo = 0;
  // Empty lines since the last row (csv-parse's raw text of a bad row starts with them).
  let blanks = 0;
  let carry = '';
  let first = true;
  // The text from the first line the fast path does not take, and that line's number.
  let rest: string | undefined;
  let restLine = 0;
  // Whether the carried part line holds the quote character or a carriage return.
  let carrySimple = true;
  read: for (;;) {
    const r = await it.next();
    let text: string;
    let simple: boolean = carrySimple;
    if (r.done) {
      if (carry === '') break;
      text = carry;
    } else {
      let chunk = r.value as string;
      if (first && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      first = false;
      simple &&= chunk.indexOf(quote) === -1 && chunk.indexOf('\r') === -1;
      text = carry + chunk;
    }
    // The items of this chunk, handed on together: one await per chunk, not per row.
    const out: FileItem[] = [];
    let start = 0;
    // The carried part has no line break: a long line is not searched again with each chunk.
    let from = carry.length;
    for (;;) {
      let nl = text.indexOf('\n', from);
      if (nl === -1) {
        if (!r.done) break;
        nl = text.length; // the last line, without a line break
      }
      const line = text.slice(start, nl);
      if (line !== '') {
        // A line with quoted cells is split here only when each is whole and regular (see splitQuoted).
        let quoted: string[] | undefined;
        if (!simple && (line.indexOf(quote) !== -1 || line.indexOf('\r') !== -1)) {
          quoted = quote === '"' && line.indexOf('\r') === -1 ? splitQuoted(line, delimiter) : undefined;
          if (!quoted) {
            rest = text.slice(start);
            restLine = lineNo + 1;
            if (out.length > 0) yield out;
            break read;
          }
        }
        if (!names) {
          if (!setNames(headerColumns(quoted ?? line.split(delimiter)))) {
            rest = text.slice(start);
            restLine = lineNo + 1;
            if (out.length > 0) yield out;
            break read;
          }
        } else {
          const cells = quoted ?? line.split(delimiter);
          const n = keys.length;
          if (cells.length !== n) {
            const raw = '\n'.repeat(blanks) + (nl < text.length ? `${line}\n` : line);
            out.push({
              line: lineNo + 1,
              error: `Invalid Record Length: columns length is ${n}, got ${cells.length} on line ${lineNo + 1}`,
              raw: raw.slice(0, 2000),
            });
          } else if (!asText) {
            // The object csv-parse would build (same keys in the same order), then cast.
            const rec: Record<string, string> = {};
            for (let i = 0; i < n; i++) rec[names[i]!] = cells[i]!;
            const record = castCsvRow(rec, o.types);
            out.push(o.json ? { line: lineNo + 1, json: JSON.stringify(record) } : { line: lineNo + 1, record });
          } else {
            let json: string;
            // A line with nothing JSON escapes (quotes, backslashes, control characters,
            // surrogates) has its cells written between quotes as they are: about half the cost.
            if (ESCAPED.test(line)) {
              json = keys[0]! + JSON.stringify(cells[0]);
              for (let i = 1; i < n; i++) json += keys[i]! + JSON.stringify(cells[i]);
            } else {
              json = `${keys[0]!}"${cells[0]!}"`;
              for (let i = 1; i < n; i++) json += `${keys[i]!}"${cells[i]!}"`;
            }
            out.push({ line: lineNo + 1, json: `${json}}` });
          }
        }
        blanks = 0;
      } else blanks++;
      lineNo++;
      start = from = nl + 1;
      if (start > text.length) break;
    }
    if (out.length > 0) yield out;
    if (r.done) break;
    carry = text.slice(start);
    carrySimple = simple || (carry.indexOf(quote) === -1 && carry.indexOf('\r') === -1);
  }
  if (rest === undefined) return;
  // The rest of the file through csv-parse: the columns known so far, the lines before it primed.
  const remaining = (async function* () {
    yield rest;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value as string;
    }
  })();
  const prime = names ? primeAt(restLine, blanks, names.length, delimiter) : { text: '\n'.repeat(restLine - 1), placeholder: false };
  yield* single(readCsvParse(remaining, o, names ?? columnsOption, !names && !o.csv.header, prime));
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

/** The items of a CSV file read by csv-parse alone: what the fast path of readCsv is held equal to (tests). */
export async function* readCsvWithCsvParse(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  yield* readCsvParse(input, o, o.csv.header ? (h) => h.map((c) => renamed(c, o.mapping)) : (o.csv.columns ?? true), !o.csv.header);
}

/** Each item as a batch of its own. */
async function* single(items: AsyncIterable<FileItem>): AsyncGenerator<FileItem[]> {
  for await (const item of items) yield [item];
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
