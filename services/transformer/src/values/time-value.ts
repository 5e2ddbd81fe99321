/**
 * Reading event times and key values the same way in every stateful step.
 */
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { castValue } from './cast-value';

/** The event time of `record[field]` in epoch ms; a missing or unreadable value is TRIB_E_VALIDATION. */
export function eventTime(record: Rec, field: string): number {
  const v = record[field];
  if (v === null || v === undefined) {
    throw new TributaryError('TRIB_E_VALIDATION', `event-time field "${field}" is missing`, { location: { field } });
  }
  const t = Date.parse(castValue(field, 'timestamp', v) as string);
  if (Number.isNaN(t)) throw new TributaryError('TRIB_E_VALIDATION', `event-time field "${field}" is not a time`, { location: { field } });
  return t;
}

/** Key values as text (so 42 and "42" are one key); a missing value is TRIB_E_VALIDATION naming `what`. */
export function keyValues(record: Rec, fields: string[], what: string): string[] {
  return fields.map((f) => {
    const v = record[f];
    if (v === null || v === undefined || v === '') {
      throw new TributaryError('TRIB_E_VALIDATION', `${what} field "${f}" is missing`, { location: { field: f } });
    }
    return typeof v === 'object' ? JSON.stringify(v) : String(v);
  });
}

/** A value read as a number for sum/avg/min/max; null when absent; TRIB_E_VALIDATION when not a number. */
export function numberValue(record: Rec, field: string): number | null {
  const v = record[field];
  if (v === null || v === undefined) return null;
  return castValue(field, 'number', v) as number;
}
