/**
 * JSON Schema validation of records (ajv), shared by source schemas and the `validate` step.
 * Errors name the record's failing fields: every one (up to a cap), each with its field.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { fullFormats } from 'ajv-formats/dist/formats';
import { isCanonicalTimestamp } from './timestamps';
import { summariseProblems, type SchemaProblem, type SchemaProblems } from './schema-problems';

const rfc3339 = fullFormats['date-time'] as { validate: (s: string) => boolean; compare: (a: string, b: string) => number | undefined };

// Valid records, the common case, are checked by a validator that stops at the first error; a record
// that fails is checked again by one that collects every error (ajv's allErrors is slower).
const ajv = withFormats(new Ajv({ allErrors: false, strict: false, coerceTypes: false }));
const ajvAll = withFormats(new Ajv({ allErrors: true, strict: false, coerceTypes: false }));

function withFormats(a: Ajv): Ajv {
  addFormats(a);
  // `date-time` answers the canonical spelling (most records' timestamps) without ajv-formats'
  // split and two regular expressions; every other string still gets ajv-formats' full RFC 3339
  // check, so the format accepts exactly what it did (a property test compares the two).
  a.addFormat('date-time', { type: 'string', validate: (s) => isCanonicalTimestamp(s) || rfc3339.validate(s), compare: rfc3339.compare });
  return a;
}
const cache = new WeakMap<object, { first: ValidateFunction; all?: ValidateFunction }>();

/** A compiled record validator: returns undefined when valid, else every problem (capped, see SchemaProblems). */
export type RecordValidator = (record: unknown) => SchemaProblems | undefined;

/** One ajv error as a problem naming its field (a dotted path; a missing or extra property's own name). */
function problemOf(e: ErrorObject): SchemaProblem & { field: string } {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const missing = (e.params as { missingProperty?: string }).missingProperty;
  const extra = (e.params as { additionalProperty?: string }).additionalProperty;
  const field = missing ? (base ? `${base}.${missing}` : missing) : extra ? (base ? `${base}.${extra}` : extra) : base;
  return { field, message: `${field || 'record'} ${e.message ?? 'is invalid'}${extra ? ` (${extra})` : ''}` };
}

/** Compiles a JSON Schema document (cached per document object). Throws when the schema is invalid. */
export function compileRecordSchema(schema: unknown, name = 'schema'): RecordValidator {
  if (schema === null || typeof schema !== 'object') throw new Error(`${name} is not a JSON Schema object`);
  let compiled = cache.get(schema);
  if (!compiled) {
    compiled = { first: ajv.compile(schema as object) };
    cache.set(schema, compiled);
  }
  const c = compiled;
  return (record) => {
    if (c.first(record)) return undefined;
    c.all ??= ajvAll.compile(schema as object);
    c.all(record);
    // `if` only says a `then` or `else` failed, which has its own error.
    const errors = (c.all.errors ?? c.first.errors!).filter((e) => e.keyword !== 'if');
    return summariseProblems((errors.length > 0 ? errors : c.first.errors!).map(problemOf));
  };
}
