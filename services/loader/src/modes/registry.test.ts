import { readdirSync } from 'node:fs';
import { MODE_SPECS, type Dataset, type Table } from '@tributary/contract/spec';
import { createMode, MODES } from './registry';

const NOT_MODES = new Set(['mode.ts', 'registry.ts']);

function modeFiles(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_MODES.has(f))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

const dataset: Dataset = {
  name: 'passages',
  from: ['gantry'],
  steps: [],
  fields: [
    { name: 'gantry_id', type: 'string', required: true },
    { name: 'event_id', type: 'string', required: true },
    { name: 'speed_kmh', type: 'number', required: false },
  ],
};
const deps = { dataset, target: '"warehouse"."fact_passage"', staging: '"stg_fact"' };
const mergeSql = (table: { mode: Table['mode']; key?: readonly string[] }): string => {
  const t = { name: 'fact_passage', from: 'passages', mode: table.mode, ...(table.key ? { key: [...table.key] } : {}) } as Table;
  return createMode(t, deps).mergeSql;
};
const ws = (sql: string): string => sql.replace(/\s+/g, ' ');
const COLS = '"gantry_id", "event_id", "speed_kmh", "_msg_id", "_ingested_at", "_source_time"';

describe('modes registry', () => {
  it('lists exactly the modes that core MODE_SPECS declares', () => {
    expect(Object.keys(MODES).sort()).toEqual(Object.keys(MODE_SPECS).sort());
  });

  it('lists exactly the mode files in the modes folder', () => {
    expect(Object.keys(MODES).sort()).toEqual(modeFiles());
  });

  it.each(Object.keys(MODES))('mode "%s" re-exports core\'s spec object and a create factory', (name) => {
    const mod = MODES[name as keyof typeof MODES];
    expect(mod.spec).toBe(MODE_SPECS[name as keyof typeof MODE_SPECS]);
    expect(typeof mod.create).toBe('function');
  });
});

describe('merge SQL', () => {
  it.each([
    ['append without key', { mode: 'append' }],
    ['append with key', { mode: 'append', key: ['event_id'] }],
    ['upsert', { mode: 'upsert', key: ['event_id'] }],
  ] as const)('%s inserts every column from staging into the target and returns its counts per message', (_, table) => {
    const sql = ws(mergeSql(table));
    expect(sql).toMatch(new RegExp(`INSERT INTO "warehouse"."fact_passage" (AS t )?\\(${COLS}\\) SELECT ${COLS} FROM`));
    expect(sql).toMatch(/SELECT c?\.?_msg_id, .* AS inserted, .* AS updated, .* AS unchanged FROM/);
  });

  it('append counts every row it inserts, per message', () => {
    const sql = ws(mergeSql({ mode: 'append', key: ['event_id'] }));
    expect(sql).toMatch(
      /RETURNING _msg_id\) SELECT _msg_id, count\(\*\)::int AS inserted, 0 AS updated, 0 AS unchanged FROM ins GROUP BY _msg_id$/,
    );
  });

  it('append without key inserts every staged row in stream order, with no de-duplication', () => {
    const sql = ws(mergeSql({ mode: 'append' }));
    expect(sql).toMatch(/FROM "stg_fact" ORDER BY _ord RETURNING/);
    expect(sql).not.toMatch(/DISTINCT|ON CONFLICT/);
  });

  it('append with key keeps the first row per key in stream order and skips keys already in the table', () => {
    const sql = ws(mergeSql({ mode: 'append', key: ['gantry_id', 'event_id'] }));
    expect(sql).toMatch(/SELECT DISTINCT ON \("gantry_id", "event_id"\) \* FROM "stg_fact" ORDER BY "gantry_id", "event_id", _ord\)/);
    expect(sql).not.toMatch(/_ord DESC/);
    expect(sql).toMatch(/ON CONFLICT \("gantry_id", "event_id"\) DO NOTHING/);
    expect(sql).not.toMatch(/DO UPDATE/);
  });

  it('upsert keeps the last row per key in stream order and overwrites every non-key column', () => {
    const sql = ws(mergeSql({ mode: 'upsert', key: ['event_id'] }));
    expect(sql).toMatch(/SELECT DISTINCT ON \("event_id"\) \* FROM "stg_fact" ORDER BY "event_id", _ord DESC\)/);
    const set = /ON CONFLICT \("event_id"\) DO UPDATE SET (.*?) WHERE/.exec(sql)?.[1];
    expect(set).toBeDefined();
    const assigned = set!.split(', ').map((a) => a.split(' = ')[0]);
    expect(assigned.sort()).toEqual(['"_ingested_at"', '"_loaded_at"', '"_msg_id"', '"_source_time"', '"gantry_id"', '"speed_kmh"']);
    expect(set).toContain('"speed_kmh" = EXCLUDED."speed_kmh"');
    expect(set).toContain('"_loaded_at" = now()');
  });

  it('upsert never updates any column of a composite key', () => {
    const sql = ws(mergeSql({ mode: 'upsert', key: ['gantry_id', 'event_id'] }));
    expect(sql).toMatch(/ON CONFLICT \("gantry_id", "event_id"\) DO UPDATE SET/);
    const set = /DO UPDATE SET (.*?) WHERE/.exec(sql)![1]!;
    expect(set).not.toMatch(/"gantry_id" =|"event_id" =/);
    expect(set).toContain('"speed_kmh" = EXCLUDED."speed_kmh"');
  });

  it('upsert rewrites a row only when a data column differs, never for bookkeeping columns', () => {
    const sql = ws(mergeSql({ mode: 'upsert', key: ['event_id'] }));
    expect(sql).toContain(
      'WHERE ROW(t."gantry_id", t."speed_kmh") IS DISTINCT FROM ROW(EXCLUDED."gantry_id", EXCLUDED."speed_kmh") RETURNING t._msg_id, (t.xmax = 0) AS _ins',
    );
  });
});
