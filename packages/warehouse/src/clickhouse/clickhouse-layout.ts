/**
 * How a table of the spec lives in ClickHouse 18.16, which has no transactions and deduplicates
 * inserts only in Replicated tables (ZooKeeper). Exactly-once comes from three objects per table,
 * all in the connection's database:
 *
 * - `<table>__rows` (append) or `<table>__partials` (aggregate): a ReplacingMergeTree whose sorting
 *   key ends with (`_msg_id`, `_record`), the processed message's ID and the record's index in it.
 *   A message written twice (redelivery, a crash before the ledger commit, two loader replicas)
 *   writes the same keys, which collapse on merge and in every `FINAL` read. Aggregate partials
 *   sort by `window_start` first and are partitioned by its month: copies of a row always share
 *   that partition, so they still collapse.
 * - `<table>__loads`: one row per message whose ledger row in PostgreSQL
 *   (`tributary.load_ledger`) is committed, written after that commit (and again whenever the
 *   message comes back), so rows of a message whose load never committed (written, then the loader
 *   died, then the message was dead-lettered) stay invisible.
 * - `<table>`: the view to query, `FINAL` over the store restricted to loaded messages. For an
 *   aggregate table it merges the partials per window and key like the PostgreSQL `aggregate`
 *   mode: counts and sums add, min/max keep the extreme, `avg` is the merged sum over the merged
 *   count, flags are evaluated on merged values (NULL when an operand is NULL). `final` and
 *   `late_records` are left out: windows are finalized only in PostgreSQL.
 *
 * Field types map to ClickHouse types as below; every field column is Nullable except
 * `window_start`, which sorts the partials. Times are whole seconds (18.16 has no DateTime64).
 */
import {
  type FieldDef,
  type FieldType,
  windowOf,
  type Pipeline,
  type Table,
  WINDOW_COLUMNS,
  windowMergePlan,
  type FlagTerm,
  type WindowMerge,
  datasetOf,
} from '@tributary/contract/spec';
import { chIdent } from './clickhouse-client';

/** ClickHouse column type of each field type. */
export const CLICKHOUSE_TYPES: Record<FieldType, string> = {
  string: 'String',
  integer: 'Int64',
  number: 'Float64',
  decimal: 'Decimal(38,9)',
  boolean: 'UInt8',
  timestamp: "DateTime('UTC')",
  date: 'Date',
  json: 'String',
};

/** Bookkeeping columns of a store table: message ID, record index, earliest ingest time. */
export const CLICKHOUSE_META_COLUMNS = [
  { name: '_msg_id', type: 'String' },
  { name: '_record', type: 'UInt32' },
  { name: '_ingested_at', type: "DateTime('UTC')" },
] as const;

/**
 * The message's source time (docs/design.md, Wire contract, Source time) in whole seconds, cut
 * down (18.16 has no DateTime64): added to tables made before it, so addable.
 */
export const CLICKHOUSE_SOURCE_TIME = { name: '_source_time', type: "Nullable(DateTime('UTC'))", addable: true } as const;

/** One column of a store table. `addable`: may be added to an existing table (a Nullable field). */
export interface ClickHouseColumn {
  name: string;
  type: string;
  addable: boolean;
}

/** Everything the DDL and the writer need to know about one ClickHouse table. */
export interface ClickHouseLayout {
  database: string;
  /** The view users query (the table's name). */
  view: string;
  /** The ReplacingMergeTree holding the rows or partials. */
  store: string;
  /** The store table of the other mode (finding it means the table changed mode). */
  otherStore: string;
  /** Messages whose load committed in the PostgreSQL ledger. */
  loads: string;
  /** Fields written to the store, in order (an aggregate's `final` and `late_records` are not). */
  fields: FieldDef[];
  columns: ClickHouseColumn[];
  /** Sorting key as `system.tables.sorting_key` spells it. */
  sortingKey: string;
  storeDdl: string;
  loadsDdl: string;
  /** The view's SELECT. */
  viewSelect: string;
}

const NOT_STORED = new Set<string>([WINDOW_COLUMNS.final, WINDOW_COLUMNS.late]);

/** Quoted `database.name`. */
export function chTable(database: string, name: string): string {
  return `${chIdent(database)}.${chIdent(name)}`;
}

/** The ClickHouse layout of `table` in `database`. */
export function clickhouseLayout(pipeline: Pipeline, table: Table, database: string): ClickHouseLayout {
  const ds = datasetOf(pipeline, table);
  const aggregate = table.mode === 'aggregate';
  const fields = aggregate ? ds.fields.filter((f) => !NOT_STORED.has(f.name)) : ds.fields;
  const sortFirst: string[] = aggregate ? [WINDOW_COLUMNS.start] : [];
  const columns: ClickHouseColumn[] = [
    ...fields.map((f) => {
      const type = f.type === 'decimal' ? `Decimal(${f.precision},${f.scale})` : CLICKHOUSE_TYPES[f.type];
      return sortFirst.includes(f.name)
        ? { name: f.name, type, addable: false }
        : { name: f.name, type: `Nullable(${type})`, addable: true };
    }),
    ...CLICKHOUSE_META_COLUMNS.map((c) => ({ ...c, addable: false })),
    CLICKHOUSE_SOURCE_TIME,
  ];
  const sortKey = [...sortFirst, '_msg_id', '_record'];
  const names = { rows: `${table.name}__rows`, partials: `${table.name}__partials` };
  const store = aggregate ? names.partials : names.rows;
  const q = (name: string) => chTable(database, name);
  const loads = `${table.name}__loads`;
  const loaded = `FROM ${q(store)} FINAL WHERE _msg_id IN (SELECT _msg_id FROM ${q(loads)})`;
  return {
    database,
    view: table.name,
    store,
    otherStore: aggregate ? names.rows : names.partials,
    loads,
    fields,
    columns,
    sortingKey: sortKey.join(', '),
    storeDdl: `CREATE TABLE IF NOT EXISTS ${q(store)} (${columns.map((c) => `${chIdent(c.name)} ${c.type}`).join(', ')}) ENGINE = ReplacingMergeTree()${aggregate ? ` PARTITION BY toYYYYMM(${chIdent(WINDOW_COLUMNS.start)})` : ''} ORDER BY (${sortKey.map(chIdent).join(', ')})`,
    loadsDdl: `CREATE TABLE IF NOT EXISTS ${q(loads)} (_msg_id String, _loaded_at DateTime('UTC') DEFAULT now()) ENGINE = ReplacingMergeTree() ORDER BY _msg_id`,
    viewSelect: aggregate
      ? aggregateSelect(pipeline, table, fields, loaded)
      : `SELECT ${[...fields.map((f) => chIdent(f.name)), '_msg_id', '_record', '_ingested_at', '_source_time'].join(', ')} ${loaded}`,
  };
}

/** The ClickHouse aggregate function of each merge rule. */
const CLICKHOUSE_MERGE: Record<WindowMerge, string> = { keep: 'any', add: 'sum', min: 'min', max: 'max' };

/** The aggregate view: partials merged per window and key, then averages and flags on merged values. */
function aggregateSelect(pipeline: Pipeline, table: Table, fields: FieldDef[], loaded: string): string {
  const w = windowOf(datasetOf(pipeline, table))!;
  const key = table.key ?? [WINDOW_COLUMNS.start, ...w.key];
  const { merges, avgs } = windowMergePlan(w);
  const merge = new Map([...merges].map(([col, m]) => [col, CLICKHOUSE_MERGE[m]]));
  const q = chIdent;
  const inner = [...key.map(q), ...[...merge].map(([col, fn]) => `${fn}(${q(col)}) AS ${q(col)}`)];
  const flag = (terms: FlagTerm[]) => terms.map((t) => `(${q(t.column)} ${t.op} ${t.value})`).join(' AND ');
  const outer = fields.map((f) => {
    const avg = avgs.get(f.name);
    if (avg) return `${q(avg.sum)} / nullIf(${q(avg.count)}, 0) AS ${q(f.name)}`;
    if (f.name in w.flags) return `${flag(w.flags[f.name]!)} AS ${q(f.name)}`;
    return q(f.name);
  });
  return `SELECT ${outer.join(', ')} FROM (SELECT ${inner.join(', ')} ${loaded} GROUP BY ${key.map(q).join(', ')})`;
}
