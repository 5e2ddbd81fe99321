/**
 * Cross-references of the table storage options (`partition`, `retention`, `indexes`), checked on
 * the raw document with every other problem, each naming its YAML path: the partition field is a
 * timestamp or date field, every key of a partitioned table includes it (PostgreSQL enforces unique
 * keys per partition only), index columns exist and fit their method. Names themselves are
 * `identifier`s (zod), so nothing here reaches SQL unchecked.
 */
import { derivedFields } from './derived-spec';
import { normaliseFields, type FieldType } from './common';
import { windowStepSpec, WINDOW_COLUMNS } from './steps/window';
import { PARTITION_SUFFIX_LENGTH } from './table-storage';
import { SCD2_COLUMNS, VALUE_ORDER_COLUMN } from './table-columns';
import type { ReferenceProblem as WarehouseProblem } from './spec-problem';

const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

/** Columns every table has beyond its fields (table-ddl.ts META_COLUMNS), by type. */
const META_TYPES: Record<string, FieldType> = {
  _msg_id: 'string',
  _ingested_at: 'timestamp',
  _source_time: 'timestamp',
  _loaded_at: 'timestamp',
};

/** Field types of a raw dataset: declared, or derived from its window/session step. */
function fieldTypes(rawDataset: unknown): Map<string, FieldType> {
  const derived = derivedFields(rawDataset);
  if (derived) return new Map(derived.map((f) => [f.name, f.type]));
  const declared = obj(obj(rawDataset).fields);
  try {
    return new Map(normaliseFields(declared as Parameters<typeof normaliseFields>[0]).map((f) => [f.name, f.type]));
  } catch {
    return new Map();
  }
}

/** Every column of a raw table with its type: fields, lookups, the mode's own columns, lineage. */
function tableColumnTypes(name: string, t: Record<string, unknown>, fields: Map<string, FieldType>): Map<string, FieldType> {
  const out = new Map(fields);
  for (const col of Object.keys(obj(t.lookups))) out.set(col, 'integer');
  if (t.mode === 'scd2') {
    out.set(typeof t.surrogate_key === 'string' ? t.surrogate_key : `${name}_sk`, 'integer');
    for (const [col, ddl] of Object.entries(SCD2_COLUMNS)) out.set(col, ddl.startsWith('boolean') ? 'boolean' : 'timestamp');
  }
  if (t.mode === 'accumulating') out.set(VALUE_ORDER_COLUMN, 'json');
  for (const [col, type] of Object.entries(META_TYPES)) out.set(col, type);
  return out;
}

/** The key a raw table ends up with: written, or an aggregate table's (window_start and the window's key). */
function effectiveKey(t: Record<string, unknown>, rawDataset: unknown): string[] | undefined {
  if (Array.isArray(t.key)) return strings(t.key);
  if (t.mode !== 'aggregate') return undefined;
  const steps = obj(rawDataset).steps;
  const last = Array.isArray(steps) ? obj(steps.at(-1)) : {};
  const w = windowStepSpec.safeParse(last.window);
  return w.success ? [WINDOW_COLUMNS.start, ...w.data.key] : undefined;
}

/** Problems of the storage options of every table. */
export function checkTableStorage(root: unknown): WarehouseProblem[] {
  const out: WarehouseProblem[] = [];
  const doc = obj(root);
  const tables = obj(doc.tables);
  const datasets = obj(doc.datasets);
  for (const [name, raw] of Object.entries(tables)) {
    const t = obj(raw);
    const at = (...p: (string | number)[]) => ['tables', name, ...p];
    const rawDs = datasets[String(t.from)];
    if (rawDs === undefined) continue; // reported by checkReferences
    const fields = fieldTypes(rawDs);
    const columns = tableColumnTypes(name, t, fields);
    const part = t.partition === undefined ? undefined : obj(t.partition);
    const by = typeof part?.by === 'string' ? part.by : undefined;

    if (part && t.mode === 'scd2') {
      out.push({
        path: at('partition'),
        message:
          'an scd2 table cannot be partitioned: its unique index of one current version per member cannot include a time column. Partition the facts instead.',
      });
    } else if (part && by !== undefined) {
      const type = fields.get(by);
      if (type === undefined) out.push({ path: at('partition', 'by'), message: `"${by}" is not a field of dataset "${String(t.from)}"` });
      else if (type !== 'timestamp' && type !== 'date')
        out.push({ path: at('partition', 'by'), message: `"${by}" has type ${type}: partition by a timestamp or date field` });
      const key = effectiveKey(t, rawDs);
      if (key && !key.includes(by))
        out.push({
          path: at('key'),
          message: `the key of a partitioned table must include its partition field "${by}" (PostgreSQL enforces unique keys per partition): use [${[...key, by].join(', ')}]`,
        });
      if (name.length > 63 - PARTITION_SUFFIX_LENGTH)
        out.push({
          path: at(),
          message: `a partitioned table's name may have at most ${63 - PARTITION_SUFFIX_LENGTH} characters (its partitions add _pYYYYMMDD)`,
        });
      for (const other of Object.keys(tables))
        if (other.startsWith(`${name}_`) && /^(default|p\d{8})$/.test(other.slice(name.length + 1)))
          out.push({ path: ['tables', other], message: `"${other}" is the name of a partition of table "${name}"` });
    }
    if (t.retention !== undefined && part === undefined)
      out.push({ path: at('retention'), message: 'retention drops whole partitions: declare `partition` too' });
    if (t.retention_archive !== undefined && t.retention === undefined)
      out.push({ path: at('retention_archive'), message: 'only with `retention`' });

    const seen = new Map<string, number>();
    (Array.isArray(t.indexes) ? t.indexes : []).forEach((rawIx, i) => {
      const ix = obj(rawIx);
      const cols = strings(ix.columns);
      const method = typeof ix.method === 'string' ? ix.method : 'btree';
      cols.forEach((c, j) => {
        if (!columns.has(c)) out.push({ path: at('indexes', i, 'columns', j), message: `"${c}" is not a column of table "${name}"` });
        else if (method === 'gin' && columns.get(c) !== 'json')
          out.push({ path: at('indexes', i, 'columns', j), message: `a gin index takes json columns; "${c}" is ${columns.get(c)}` });
        else if (method === 'brin' && columns.get(c) === 'json')
          out.push({ path: at('indexes', i, 'columns', j), message: `a brin index cannot take the json column "${c}"` });
      });
      if (new Set(cols).size !== cols.length) out.push({ path: at('indexes', i, 'columns'), message: 'a column is listed twice' });
      if (method === 'hash' && cols.length !== 1)
        out.push({ path: at('indexes', i, 'columns'), message: 'a hash index takes exactly one column' });
      if (ix.unique === true && method !== 'btree')
        out.push({ path: at('indexes', i, 'unique'), message: `only a btree index can be unique (this one is ${method})` });
      if (ix.unique === true && by !== undefined && !cols.includes(by))
        out.push({
          path: at('indexes', i, 'columns'),
          message: `a unique index of a partitioned table must include its partition field "${by}"`,
        });
      const sig = `${method}:${ix.unique === true}:${cols.join(',')}`;
      if (seen.has(sig)) out.push({ path: at('indexes', i), message: `the same index as indexes[${seen.get(sig)}]` });
      else seen.set(sig, i);
    });
  }
  return out;
}
