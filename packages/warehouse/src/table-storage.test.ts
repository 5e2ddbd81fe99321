/**
 * The table storage options in the spec: `partition`, `retention`, `indexes` parse, and every
 * mistake (or hostile name) is refused with its YAML path; plus the partition calendar and the
 * deterministic names partitions and indexes get.
 */
import { declaredIndexName } from './declared-indexes';
import { intervalStart, nextStart, partitionName, partitionStartOf, premakeStarts, type PartitionLayout } from './partitions';
import { parsePipelineSpec } from '@tributary/contract/spec';

const spec = (tables: string, extraDatasets = ''): string => `pipeline: p
sources:
  s: { kind: push }
datasets:
  d:
    from: [s]
    fields:
      id: { type: string, required: true }
      at: timestamp
      day: date
      n: integer
      doc: json
${extraDatasets}
tables:
${tables}
`;

/** `field: message` of every problem. */
function problems(text: string): string[] {
  return parsePipelineSpec(text, 'p.yaml').problems.map((p) => `${p.field}: ${p.message}`);
}

describe('table storage options', () => {
  it('parses partition, retention and indexes with their defaults', () => {
    const r = parsePipelineSpec(
      spec(`  f:
    from: d
    mode: upsert
    key: [id, at]
    partition: { by: at }
    retention: 400d
    indexes:
      - { columns: [n, at] }
      - { columns: [doc], method: gin }
      - { columns: [id, at], unique: true }
      - { columns: [_loaded_at], method: brin }`),
      'p.yaml',
    );
    expect(r.problems).toEqual([]);
    expect(r.spec!.tables.f).toMatchObject({
      partition: { by: 'at', interval: 'day', premake: 3 },
      retention: 400 * 86_400_000,
      indexes: [
        { columns: ['n', 'at'], unique: false, method: 'btree' },
        { columns: ['doc'], unique: false, method: 'gin' },
        { columns: ['id', 'at'], unique: true, method: 'btree' },
        { columns: ['_loaded_at'], unique: false, method: 'brin' },
      ],
    });
  });

  it('refuses a partition field that is missing or not a time, naming the path', () => {
    expect(problems(spec('  f: { from: d, mode: append, partition: { by: nope } }'))).toEqual([
      'tables.f.partition.by: "nope" is not a field of dataset "d"',
    ]);
    expect(problems(spec('  f: { from: d, mode: append, partition: { by: n } }'))).toEqual([
      'tables.f.partition.by: "n" has type integer: partition by a timestamp or date field',
    ]);
    expect(problems(spec('  f: { from: d, mode: append, partition: { by: day, interval: month } }'))).toEqual([]);
  });

  it('requires the key of a partitioned table to include the partition field', () => {
    expect(problems(spec('  f: { from: d, mode: append, key: [id], partition: { by: at } }'))).toEqual([
      'tables.f.key: the key of a partitioned table must include its partition field "at" (PostgreSQL enforces unique keys per partition): use [id, at]',
    ]);
    expect(problems(spec('  f: { from: d, mode: accumulating, key: [id], partition: { by: at } }'))).toHaveLength(1);
    expect(problems(spec('  f: { from: d, mode: accumulating, key: [id, at], partition: { by: at } }'))).toEqual([]);
  });

  it('takes the derived key of an aggregate table (window_start first)', () => {
    const windowed = `  w:
    from: [d]
    steps:
      - window: { tumbling: 1h, time: at, key: [id], aggregate: { total: sum(n) } }`;
    expect(problems(spec('  f: { from: w, mode: aggregate, partition: { by: window_start } }', windowed))).toEqual([]);
    expect(problems(spec('  f: { from: w, mode: aggregate, partition: { by: window_end } }', windowed))).toEqual([
      'tables.f.key: the key of a partitioned table must include its partition field "window_end" (PostgreSQL enforces unique keys per partition): use [window_start, id, window_end]',
    ]);
  });

  it('refuses partitioning an scd2 dimension, and retention without partitions', () => {
    expect(problems(spec('  dim: { from: d, mode: scd2, key: [id], partition: { by: at } }'))).toEqual(
      expect.arrayContaining([
        'tables.dim.partition: unknown field "partition"',
        expect.stringMatching(/^tables\.dim\.partition: an scd2 table cannot be partitioned/),
      ]),
    );
    expect(problems(spec('  f: { from: d, mode: append, retention: 30d }'))).toEqual([
      'tables.f.retention: retention drops whole partitions: declare `partition` too',
    ]);
    expect(problems(spec('  f: { from: d, mode: append, partition: { by: at }, retention_archive: false }'))).toEqual([
      'tables.f.retention_archive: only with `retention`',
    ]);
  });

  it('refuses index columns that do not exist or do not fit the method', () => {
    expect(
      problems(
        spec(`  f:
    from: d
    mode: append
    partition: { by: at }
    indexes:
      - { columns: [n, nope] }
      - { columns: [n], method: gin }
      - { columns: [n, id], method: hash }
      - { columns: [n], unique: true, method: hash }
      - { columns: [n], unique: true }
      - { columns: [n, n] }
      - { columns: [n, nope] }`),
      ),
    ).toEqual([
      'tables.f.indexes[0].columns[1]: "nope" is not a column of table "f"',
      'tables.f.indexes[1].columns[0]: a gin index takes json columns; "n" is integer',
      'tables.f.indexes[2].columns: a hash index takes exactly one column',
      'tables.f.indexes[3].unique: only a btree index can be unique (this one is hash)',
      'tables.f.indexes[3].columns: a unique index of a partitioned table must include its partition field "at"',
      'tables.f.indexes[4].columns: a unique index of a partitioned table must include its partition field "at"',
      'tables.f.indexes[5].columns: a column is listed twice',
      'tables.f.indexes[6].columns[1]: "nope" is not a column of table "f"',
      'tables.f.indexes[6]: the same index as indexes[0]',
    ]);
  });

  it('refuses SQL injection through partition and index names, and names that would clash with partitions', () => {
    for (const [table, field] of [
      ['  f: { from: d, mode: append, partition: { by: "at); DROP TABLE tributary.load_ledger; --" } }', 'tables.f.partition.by'],
      ['  f: { from: d, mode: append, indexes: [{ columns: ["n\\" DESC); DROP TABLE x; --"] }] }', 'tables.f.indexes[0].columns[0]'],
      ['  f: { from: d, mode: append, indexes: [{ columns: [n], method: "btree (n); DROP TABLE x; --" }] }', 'tables.f.indexes[0].method'],
      ['  f: { from: d, mode: append, partition: { by: at, interval: "day\'); DROP TABLE x; --" } }', 'tables.f.partition.interval'],
    ] as const) {
      const found = parsePipelineSpec(spec(table), 'p.yaml').problems;
      expect(found.map((p) => p.field)).toContain(field);
      expect(found.find((p) => p.field === field)!.line).toBeGreaterThan(0);
    }
    expect(problems(spec(`  ${'x'.repeat(54)}: { from: d, mode: append, partition: { by: at } }`))).toEqual([
      `tables.${'x'.repeat(54)}: a partitioned table's name may have at most 53 characters (its partitions add _pYYYYMMDD)`,
    ]);
    expect(problems(spec('  f: { from: d, mode: append, partition: { by: at } }\n  f_default: { from: d, mode: append }'))).toEqual([
      'tables.f_default: "f_default" is the name of a partition of table "f"',
    ]);
  });
});

describe('partition calendar and names', () => {
  const at = (iso: string) => new Date(iso).getTime();

  it('starts intervals at UTC midnight, ISO Mondays and first days of months', () => {
    expect(intervalStart(at('2026-11-22T23:59:59.999Z'), 'day').toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(intervalStart(at('2026-11-22T10:00:00Z'), 'week').toISOString()).toBe('2026-11-16T00:00:00.000Z'); // a Sunday
    expect(intervalStart(at('2026-11-23T00:00:00Z'), 'week').toISOString()).toBe('2026-11-23T00:00:00.000Z'); // a Monday
    expect(intervalStart(at('2026-12-31T23:00:00Z'), 'month').toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(nextStart(new Date('2026-12-01T00:00:00Z'), 'month').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(intervalStart(at('1969-12-31T12:00:00Z'), 'day').toISOString()).toBe('1969-12-31T00:00:00.000Z');
  });

  it('names partitions by their start and reads the start back', () => {
    const start = new Date('2026-11-22T00:00:00Z');
    expect(partitionName('fact_passage', start)).toBe('fact_passage_p20261122');
    expect(partitionStartOf('fact_passage', 'fact_passage_p20261122')?.toISOString()).toBe(start.toISOString());
    expect(partitionStartOf('fact_passage', 'fact_passage_default')).toBeUndefined();
    expect(partitionStartOf('fact', 'fact_passage_p20261122')).toBeUndefined();
    expect(partitionStartOf('fact_passage', 'fact_passage_p20261399')).toBeUndefined();
    const layout: PartitionLayout = { column: 'at', type: 'timestamp', interval: 'week', premake: 2, archive: true };
    expect(premakeStarts(layout, at('2026-11-22T10:00:00Z')).map((d) => d.toISOString().slice(0, 10))).toEqual([
      '2026-11-16',
      '2026-11-23',
      '2026-11-30',
    ]);
  });

  it('names declared indexes deterministically, within 63 characters', () => {
    expect(declaredIndexName('fact', { columns: ['gantry_id', 'observed_at'], unique: false, method: 'btree' })).toBe(
      'fact_gantry_id_observed_at_idx',
    );
    expect(declaredIndexName('fact', { columns: ['doc'], unique: false, method: 'gin' })).toBe('fact_doc_gin_idx');
    expect(declaredIndexName('fact', { columns: ['id', 'at'], unique: true, method: 'btree' })).toBe('fact_id_at_uniq');
    const cols = ['a_rather_long_column_name', 'another_rather_long_column_name'];
    const long = declaredIndexName('a_long_table_name', { columns: cols, unique: false, method: 'btree' });
    expect(long).toHaveLength(63);
    expect(long).toBe(declaredIndexName('a_long_table_name', { columns: cols, unique: false, method: 'btree' }));
    expect(long).not.toBe(declaredIndexName('a_long_table_name', { columns: [...cols, 'x'], unique: false, method: 'btree' }));
  });
});
