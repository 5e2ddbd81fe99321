import { exactNumber } from '@tributary/contract/schema';

/**
 * Types CSV cells from the source schema: a CSV file has only strings, the schema says which
 * columns are numbers or booleans (a number only where a double holds it exactly: every digit
 * of a long decimal stays, as text). What does not convert stays a string, so the schema check
 * rejects the row with the field named.
 */

/** JSON Schema property types by field, from the source schema (undefined: no schema). */
export type FieldTypes = Record<string, string> | undefined;

const NUM_RE = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** JSON Schema `properties.*.type` of a schema document (first type of a type list). */
export function schemaFieldTypes(schema: unknown): FieldTypes {
  const props = (schema as { properties?: Record<string, { type?: string | string[] }> } | undefined)?.properties;
  if (!props) return undefined;
  return Object.fromEntries(
    Object.entries(props).map(([k, v]) => [
      k,
      Array.isArray(v.type) ? (v.type.find((t) => t !== 'null') ?? 'string') : (v.type ?? 'string'),
    ]),
  );
}

/** Converts one CSV row's strings to the types in `types`; an empty cell is a missing value unless the field is a string. */
export function castCsvRow(row: Record<string, string>, types: FieldTypes): Record<string, unknown> {
  if (!types) return row;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    const t = types[k];
    const s = v.trim();
    if (v === '') {
      if (t === undefined || t === 'string') out[k] = v;
    } else if ((t === 'integer' || t === 'number') && NUM_RE.test(s)) out[k] = exactNumber(s);
    else if (t === 'boolean' && /^(true|false)$/i.test(s)) out[k] = s.toLowerCase() === 'true';
    else out[k] = v;
  }
  return out;
}
