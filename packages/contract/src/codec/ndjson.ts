/**
 * The NDJSON batch codec: one JSON document per line. The first codec of the wire contract;
 * its `Content-Type` travels in the message headers so faster codecs can follow.
 */
import { TributaryError } from '../errors';
import { parseJsonExact } from '../schema/exact-values';

/** Content type of NDJSON batches. */
export const NDJSON = 'application/x-ndjson';

/** A record: a JSON object. */
export type Rec = Record<string, unknown>;

/** Encodes records as NDJSON bytes (no trailing newline). */
export function encodeNdjson(records: readonly unknown[]): Uint8Array {
  return Buffer.from(records.map((r) => JSON.stringify(r)).join('\n'), 'utf8');
}

/** Encodes one record as an NDJSON line, for sizing batches before joining. */
export function encodeLine(record: unknown): string {
  return JSON.stringify(record);
}

/** Decodes NDJSON bytes; a bad line throws TRIB_E_DECODE naming the line. Empty lines are skipped. */
export function decodeNdjson(data: Uint8Array): Rec[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  if (text.length === 0) return [];
  const out: Rec[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = parseJsonExact(line);
    } catch (err) {
      throw new TributaryError('TRIB_E_DECODE', `line ${i + 1}: ${(err as Error).message}`, { location: { line: i + 1 }, cause: err });
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      throw new TributaryError('TRIB_E_DECODE', `line ${i + 1}: a record must be a JSON object`, { location: { line: i + 1 } });
    }
    out.push(v as Rec);
  }
  return out;
}
