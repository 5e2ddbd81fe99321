/**
 * Encodes rows in PostgreSQL's COPY text format. Written by hand because it is a few lines and
 * the libraries that do it stream objects one at a time, which costs more than the encoding.
 */
import type { FieldType } from '@tributary/contract/spec';

/** Escapes a string for COPY text format. */
function escape(s: string): string {
  // Fast path: most values need no escaping.
  if (!/[\\\n\r\t]/.test(s)) return s;
  return s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}

/** Encodes one value of the given field type. */
export function copyValue(type: FieldType | 'text' | 'bigint', v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  switch (type) {
    case 'boolean':
      return v ? 't' : 'f';
    case 'json':
      return escape(JSON.stringify(v));
    case 'integer':
    case 'number':
    case 'bigint':
      return String(v);
    default:
      return escape(typeof v === 'string' ? v : String(v));
  }
}
