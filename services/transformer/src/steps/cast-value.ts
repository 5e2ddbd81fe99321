/**
 * Converts a value to a dataset field type, or throws TRIB_E_VALIDATION naming the field.
 * Shared by the `cast` step and the projection onto a dataset's declared fields.
 */
import { TributaryError, type FieldType } from '@tributary/core';

const INT_RE = /^-?\d+$/;
const NUM_RE = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function fail(field: string, type: FieldType, value: unknown): never {
  const shown = JSON.stringify(value);
  throw new TributaryError('TRIB_E_VALIDATION', `field "${field}": ${shown && shown.length > 60 ? `${shown.slice(0, 60)}...` : shown} is not a valid ${type}`, {
    location: { field },
  });
}

/** Converts `value` to `type`; null and undefined stay null. */
export function castValue(field: string, type: FieldType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean') return String(value);
      return fail(field, type, value);
    case 'integer':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && INT_RE.test(value.trim()) && Number.isSafeInteger(Number(value))) return Number(value);
      return fail(field, type, value);
    case 'number':
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      if (typeof value === 'string' && NUM_RE.test(value.trim())) return Number(value);
      return fail(field, type, value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      if (value === 0 || value === 1) return value === 1;
      return fail(field, type, value);
    case 'timestamp': {
      if (typeof value !== 'string' && typeof value !== 'number') return fail(field, type, value);
      const d = new Date(value);
      if (Number.isNaN(d.getTime())) return fail(field, type, value);
      return d.toISOString();
    }
    case 'date': {
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value))) return value;
      if (typeof value !== 'string' && typeof value !== 'number') return fail(field, type, value);
      const d = new Date(value);
      if (Number.isNaN(d.getTime())) return fail(field, type, value);
      return d.toISOString().slice(0, 10);
    }
    case 'json':
      return value;
  }
}
