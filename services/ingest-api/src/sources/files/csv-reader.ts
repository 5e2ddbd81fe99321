/**
 * CSV files: a hand-written fast path for simple lines, csv-parse for the rest of a file from the
 * first line that is not simple (readCsv says why), and csv-parse alone (readCsvWithCsvParse) as
 * the reference the tests hold the fast path equal to.
 */
import { Readable } from 'node:stream';
import { parse as parseCsv, type Parser as CsvParser } from 'csv-parse';
import { castCsvRow } from './csv-cast';
import { ESCAPED, plainColumns, splitQuoted } from './csv-line';
import { rename, renamed, single, type FileItem, type ReadOptions } from './file-items';

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
export async function* readCsv(input: Readable, o: ReadOptions): AsyncGenerator<FileItem[]> {
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

/** The items of a CSV file read by csv-parse alone: what the fast path of readCsv is held equal to (tests). */
export async function* readCsvWithCsvParse(input: Readable, o: ReadOptions): AsyncGenerator<FileItem> {
  yield* readCsvParse(input, o, o.csv.header ? (h) => h.map((c) => renamed(c, o.mapping)) : (o.csv.columns ?? true), !o.csv.header);
}
