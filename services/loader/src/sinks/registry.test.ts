import { readdirSync } from 'node:fs';
import { MODE_SPECS, parsePipelineSpec, SINK_MODES, SINK_SPECS, type LoadMode } from '@tributary/contract/spec';
import { SINKS } from './registry';

const NOT_SINKS = new Set(['registry.ts']);

/** Sink kinds from the files in this folder. */
function sinkFiles(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_SINKS.has(f))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

/** The problems `validate` finds on the sink of a ClickHouse table in mode `mode`. */
function sinkProblems(mode: LoadMode): string[] {
  const text = `
pipeline: p
connections:
  analytics: { kind: clickhouse, url: 'http://127.0.0.1:1' }
sources:
  a: { kind: push }
datasets:
  rows: { from: a, fields: { id: string, t: timestamp } }
tables:
  t: { from: rows, mode: ${mode}, sink: { connection: analytics } }
`;
  return parsePipelineSpec(text, 'p.yaml')
    .problems.filter((p) => p.field === 'tables.t.sink')
    .map((p) => p.message);
}

describe('sinks registry', () => {
  it('lists exactly the sink kinds that core SINK_SPECS declares', () => {
    expect(Object.keys(SINKS).sort()).toEqual(Object.keys(SINK_SPECS).sort());
  });

  it('lists exactly the sink files in the sinks folder', () => {
    expect(Object.keys(SINKS).sort()).toEqual(sinkFiles());
  });

  it.each(Object.keys(SINKS))("sink %s re-exports core's spec and modes and a create factory", (name) => {
    const mod = SINKS[name as keyof typeof SINKS];
    expect(mod.spec).toBe(SINK_SPECS[name as keyof typeof SINK_SPECS]);
    expect(mod.modes).toBe(SINK_MODES[name as keyof typeof SINK_MODES]);
    expect(typeof mod.create).toBe('function');
  });

  it('every sink declares only known load modes, and PostgreSQL, the default, takes them all', () => {
    for (const mod of Object.values(SINKS)) for (const m of mod.modes) expect(Object.keys(MODE_SPECS)).toContain(m);
    expect([...SINKS.postgres.modes].sort()).toEqual(Object.keys(MODE_SPECS).sort());
  });

  it.each(Object.keys(MODE_SPECS) as LoadMode[])('validate holds a ClickHouse table in mode %s to the modes its sink declares', (mode) => {
    const refused = sinkProblems(mode).filter((m) => m.startsWith('the clickhouse sink takes only'));
    if ((SINKS.clickhouse.modes as readonly string[]).includes(mode)) expect(refused).toEqual([]);
    else expect(refused).toEqual([`the clickhouse sink takes only append and aggregate tables; mode ${mode} loads into PostgreSQL`]);
  });
});
