/**
 * The field names the spec knows for each dataset's records, besides its declared fields: a field
 * outside this set is `new` (schema drift). Known are the names its steps mention (JSONata
 * expressions, `enrich`/`join` keys, `rename`, `code` sources: every identifier in their config,
 * so a field a step reads is never taken for drift; a `drop` step names the fields a dataset
 * ignores on purpose), the fields of the schemas its records are checked against (the feeding
 * sources' `schema:`, `validate` steps), the declared fields of datasets it reads or names in a
 * step, and everything known upstream of it. A source other than `postgres_cdc` has one shape
 * for all its readers, so what its other datasets declare or name is known too; the datasets of a
 * CDC source each keep the rows of their own table, so another table's columns are not. Names
 * starting with `_` are metadata (`_table`, `_op`, `_lsn` of CDC) and never drift.
 *
 * The scan errs towards knowing: a new field whose name happens to appear in an expression of the
 * dataset is not reported (docs/transforms.md, "Schema drift").
 */
import type { Dataset, Pipeline } from '@tributary/contract/spec';

const IDENT = /[A-Za-z_][A-Za-z0-9_]*/g;

/** Adds every identifier in `text`. */
function addTokens(out: Set<string>, text: string | undefined): void {
  if (text === undefined) return;
  for (const m of text.matchAll(IDENT)) out.add(m[0]);
}

/** Field names a schema document declares: JSON Schema `properties` keys, Avro `fields` names; Protobuf text: its identifiers. */
function addSchemaFields(out: Set<string>, doc: unknown): void {
  if (typeof doc === 'string') return addTokens(out, doc);
  if (Array.isArray(doc)) {
    for (const d of doc) addSchemaFields(out, d);
    return;
  }
  if (doc === null || typeof doc !== 'object') return;
  const o = doc as Record<string, unknown>;
  if (o.properties && typeof o.properties === 'object') for (const k of Object.keys(o.properties)) out.add(k);
  if (Array.isArray(o.fields))
    for (const f of o.fields) if (typeof (f as { name?: unknown }).name === 'string') out.add((f as { name: string }).name);
  for (const v of Object.values(o)) addSchemaFields(out, v);
}

/** The names a dataset's own declaration and steps give. */
function ownNames(out: Set<string>, pipeline: Pipeline, ds: Dataset): void {
  for (const f of ds.fields) out.add(f.name);
  addTokens(out, JSON.stringify(ds.steps));
  for (const step of ds.steps) {
    if (step.kind === 'validate') addSchemaFields(out, pipeline.schemas[step.config.schema]);
  }
}

/** Known field names per dataset (see the top of this file). */
export function knownFieldNames(pipeline: Pipeline): Map<string, Set<string>> {
  const known = new Map<string, Set<string>>();
  // Datasets are in dependency order: everything upstream is already known.
  for (const ds of pipeline.datasets) {
    const out = new Set<string>();
    ownNames(out, pipeline, ds);
    for (const from of ds.from) {
      const src = pipeline.sources[from];
      if (!src || src.kind === 'postgres_cdc') continue;
      for (const sibling of pipeline.datasets) if (sibling !== ds && sibling.from.includes(from)) ownNames(out, pipeline, sibling);
    }
    for (const from of ds.from) {
      const src = pipeline.sources[from];
      if (src?.schema) addSchemaFields(out, pipeline.schemas[src.schema]);
      for (const n of known.get(from) ?? []) out.add(n);
    }
    for (const other of pipeline.datasets) {
      if (other.name !== ds.name && (ds.from.includes(other.name) || out.has(other.name))) for (const f of other.fields) out.add(f.name);
    }
    known.set(ds.name, out);
  }
  return known;
}
