/**
 * JSON Schema validation of records (ajv), shared by source schemas and the `validate` step.
 * Errors name the record's failing field.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isCanonicalTimestamp } from './timestamps';

const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false });
addFormats(ajv);
// `date-time` answers the canonical spelling (most records' timestamps) without ajv-formats'
// split and two regular expressions; every other string still gets ajv-formats' full RFC 3339
// check, so the format accepts exactly what it did (a property test compares the two).
const rfc3339 = fullFormats['date-time'] as { validate: (s: string) => boolean; compare: (a: string, b: string) => number | undefined };
ajv.addFormat('date-time', { type: 'string', validate: (s) => isCanonicalTimestamp(s) || rfc3339.validate(s), compare: rfc3339.compare });
const cache = new WeakMap<object, ValidateFunction>();

/** A compiled record validator: returns undefined when valid, else the first problem. */
export type RecordValidator = (record: unknown) => { field: string; message: string } | undefined;

/** Compiles a JSON Schema document (cached per document object). Throws when the schema is invalid. */
export function compileRecordSchema(schema: unknown, name = 'schema'): RecordValidator {
  if (schema === null || typeof schema !== 'object') throw new Error(`${name} is not a JSON Schema object`);
  let validate = cache.get(schema);
  if (!validate) {
    validate = ajv.compile(schema as object);
    cache.set(schema, validate);
  }
  const fn = validate;
  return (record) => {
    if (fn(record)) return undefined;
    const e = fn.errors![0]!;
    const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const missing = (e.params as { missingProperty?: string }).missingProperty;
    const extra = (e.params as { additionalProperty?: string }).additionalProperty;
    const field = missing ? (base ? `${base}.${missing}` : missing) : extra ? (base ? `${base}.${extra}` : extra) : base;
    return { field, message: `${field || 'record'} ${e.message ?? 'is invalid'}${extra ? ` (${extra})` : ''}` };
  };
}
