/**
 * Parses request bodies into records: a JSON array (or one object), NDJSON, or CSV with a header
 * row. A body that cannot be parsed throws TRIB_E_PARSE naming the line (and column) and why;
 * elements that parse but are not objects are returned as-is for per-record rejection.
 */
import { parse as parseCsv } from 'csv-parse/sync';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { exactNumber, parseJsonExact } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';

/** Content types the ingest API reads, by canonical name. */
export const SUPPORTED_TYPES = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'application/json-seq': 'ndjson',
  'text/csv': 'csv',
} as const;

/** A body format. */
export type BodyFormat = (typeof SUPPORTED_TYPES)[keyof typeof SUPPORTED_TYPES];

/** Maps a Content-Type header to a format, or throws TRIB_E_UNSUPPORTED_MEDIA_TYPE. */
export function formatOf(contentType: string | undefined): BodyFormat {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const f = (SUPPORTED_TYPES as Record<string, BodyFormat>)[base];
  if (!f) {
    throw new TributaryError(
      'TRIB_E_UNSUPPORTED_MEDIA_TYPE',
      `unsupported content type "${base || '(none)'}": send application/json (an array of records), application/x-ndjson or text/csv`,
    );
  }
  return f;
}

function lineCol(text: string, pos: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < pos && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  }
  return { line, column: pos - last };
}

function parseJson(text: string): unknown[] {
  let v: unknown;
  try {
    v = parseJsonExact(text);
  } catch (err) {
    // JSON.parse on Node 20 does not always say where; jsonc-parser (strict settings) does.
    const errors: ParseError[] = [];
    try {
      parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
    } catch {
      // jsonc-parser recurses; a hostile, deeply nested body overflows it. Report without a position.
    }
    const first = errors[0];
    const at = first ? lineCol(text, first.offset) : undefined;
    const reason = first ? printParseErrorCode(first.error) : (err as Error).message;
    throw new TributaryError('TRIB_E_PARSE', `invalid JSON${at ? ` at line ${at.line}, column ${at.column}` : ''}: ${reason}`, {
      location: at ?? {},
      cause: err,
    });
  }
  if (Array.isArray(v)) return v;
  if (v !== null && typeof v === 'object') return [v];
  throw new TributaryError('TRIB_E_PARSE', 'a JSON body must be an array of records or one record object', { location: { line: 1 } });
}

function parseNdjson(text: string, texts: string[]): unknown[] {
  const out: unknown[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    // application/json-seq (RFC 7464) starts each record with RS (0x1E).
    const raw = lines[i]!;
    const line = (raw.charCodeAt(0) === 0x1e ? raw.slice(1) : raw).trim();
    if (line === '') continue;
    try {
      out.push(parseJsonExact(line));
      texts.push(line);
    } catch (err) {
      throw new TributaryError('TRIB_E_PARSE', `invalid NDJSON at line ${i + 1}: ${(err as Error).message}`, {
        location: { line: i + 1 },
        cause: err,
      });
    }
  }
  return out;
}

/** Converts CSV strings to the JSON types the source schema declares, where they convert cleanly. */
function castCsv(rows: Record<string, string>[], types: Record<string, string> | undefined): Record<string, unknown>[] {
  if (!types) return rows;
  return rows.map((row) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(row)) {
      const t = types[k];
      if (v === '') {
        // An empty CSV cell is a missing value, not an empty string, unless the field is a string.
        if (t && t !== 'string') continue;
        out[k] = v;
      } else if ((t === 'integer' || t === 'number') && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) {
        out[k] = exactNumber(v);
      } else if (t === 'boolean' && /^(true|false)$/i.test(v.trim())) {
        out[k] = v.trim().toLowerCase() === 'true';
      } else {
        out[k] = v;
      }
    }
    return out;
  });
}

function parseCsvBody(text: string, types?: Record<string, string>): unknown[] {
  try {
    const rows = parseCsv(text, { columns: true, skip_empty_lines: true, bom: true, relax_column_count: false, trim: false }) as Record<
      string,
      string
    >[];
    return castCsv(rows, types);
  } catch (err) {
    const e = err as { lines?: number; message: string };
    throw new TributaryError('TRIB_E_PARSE', `invalid CSV${e.lines ? ` at line ${e.lines}` : ''}: ${e.message}`, {
      location: e.lines ? { line: e.lines } : {},
      cause: err,
    });
  }
}

/** Parsed records, and for NDJSON each record's JSON text as sent (`lines[i]` is `records[i]`). */
export interface ParsedBody {
  records: unknown[];
  lines?: string[];
}

/**
 * Parses a body. `csvTypes` maps column names to JSON Schema types (from the source schema) so
 * CSV numbers and booleans arrive typed.
 */
export function parseBody(body: Buffer, format: BodyFormat, csvTypes?: Record<string, string>): unknown[] {
  return parseBodyWithLines(body, format, csvTypes).records;
}

/**
 * `parseBody`, also returning the JSON text of each NDJSON record, so the ingestor can publish
 * the text it was sent instead of serialising the parsed record again.
 */
export function parseBodyWithLines(body: Buffer, format: BodyFormat, csvTypes?: Record<string, string>): ParsedBody {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new TributaryError('TRIB_E_PARSE', 'body is not valid UTF-8');
  }
  if (text.trim() === '') return { records: [] };
  switch (format) {
    case 'json':
      return { records: parseJson(text) };
    case 'ndjson': {
      const lines: string[] = [];
      return { records: parseNdjson(text, lines), lines };
    }
    case 'csv':
      return { records: parseCsvBody(text, csvTypes) };
  }
}
