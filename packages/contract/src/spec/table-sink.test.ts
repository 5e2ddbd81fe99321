import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadPipelineFile, parsePipelineSpec } from './load-pipeline';
import { resolveSecret } from './connections';

/** The problems of a spec text, as `line field: message`. */
function problems(text: string): string[] {
  return parsePipelineSpec(text, 'p.yaml').problems.map((p) => `${p.line ?? '?'} ${p.field}: ${p.message}`);
}

const spec = (tables: string, opts: { emit?: boolean; window?: string; extra?: string } = {}): string => `
pipeline: p
connections:
  analytics: { kind: clickhouse, url: env:CH_URL, password: env:CH_PASSWORD }
  api: { kind: http, base_url: 'https://example.com' }
sources:
  a: { kind: push }
datasets:
  rows:
    from: a
    fields: { id: string, g: string, v: number, t: timestamp }
  per_minute:
    from: rows
    steps:
      - window: { ${opts.window ?? 'tumbling: 1m'}, time: t, key: [g], aggregate: { n: count() }${opts.emit ? ', emit: done' : ''} }
${opts.extra ?? ''}tables:
${tables}`;

describe('table sinks', () => {
  it('accepts append and aggregate tables loading into ClickHouse', () => {
    const text = spec(`  fact: { from: rows, mode: append, sink: { connection: analytics } }
  agg: { from: per_minute, mode: aggregate, sink: { connection: analytics } }
`);
    expect(problems(text)).toEqual([]);
    const { spec: parsed } = parsePipelineSpec(text, 'p.yaml');
    expect(parsed!.connections.analytics).toEqual({
      kind: 'clickhouse',
      url: 'env:CH_URL',
      user: 'default',
      password: 'env:CH_PASSWORD',
      database: 'warehouse',
      timeout: 30_000,
    });
  });

  it('names the place of every table ClickHouse cannot take', () => {
    const text = spec(`  up: { from: rows, mode: upsert, key: [id], sink: { connection: analytics } }
  keyed: { from: rows, mode: append, key: [id], sink: { connection: analytics } }
  nowhere: { from: rows, mode: append, sink: { connection: missing } }
  wrong: { from: rows, mode: append, sink: { connection: api } }
  parted: { from: rows, mode: append, partition: { by: t }, sink: { connection: analytics } }
`);
    expect(problems(text)).toEqual([
      '17 tables.up.sink: unknown field "sink"',
      '17 tables.up.sink: the clickhouse sink takes only append and aggregate tables; mode upsert loads into PostgreSQL',
      '18 tables.keyed.key: a ClickHouse append table takes no key (no unique index to skip repeats against): drop repeats with a `dedupe` step',
      '19 tables.nowhere.sink.connection: unknown connection "missing" (declared: analytics, api)',
      '20 tables.wrong.sink.connection: "api" is a http connection, not a clickhouse one',
      '21 tables.parted.partition: `partition` is a PostgreSQL storage option: a ClickHouse table cannot take it',
    ]);
  });

  it('refuses windows ClickHouse cannot store, final windows it cannot decide, and checks or lookups reading it', () => {
    const tables = `  agg: { from: per_minute, mode: aggregate, sink: { connection: analytics } }
checks:
  - { table: agg, not_null: [g] }
`;
    expect(problems(spec(tables, { window: 'tumbling: 500ms', emit: true }))).toEqual([
      '17 tables.agg.sink: the window of "per_minute" is not in whole seconds, and ClickHouse 18.16 stores times in seconds',
      '15 datasets.per_minute.steps[0].window.emit: final windows are decided in a PostgreSQL aggregate table; every aggregate table of this dataset loads into ClickHouse',
      '19 checks[0].table: checks run in PostgreSQL; "agg" loads into ClickHouse',
    ]);
    // With a PostgreSQL aggregate table beside it, the window is finalized there.
    const both = `  agg: { from: per_minute, mode: aggregate, sink: { connection: analytics } }
  agg_pg: { from: per_minute, mode: aggregate }
`;
    expect(problems(spec(both, { emit: true }))).toEqual([]);
    const enrich = `  enriched:
    from: rows
    fields: { id: string }
    steps:
      - enrich: { from: { table: fact }, on: { id: id }, fields: { v: v } }
`;
    expect(problems(spec('  fact: { from: rows, mode: append, sink: { connection: analytics } }\n', { extra: enrich }))).toEqual([
      '20 datasets.enriched.steps[0].enrich.from.table: enrich reads PostgreSQL tables; "fact" loads into ClickHouse',
    ]);
  });

  it('refuses SQL models and checks that ref() a ClickHouse table', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-sink-'));
    writeFileSync(path.join(dir, 'm.sql'), "SELECT * FROM {{ ref('fact') }}");
    const text = spec(`  fact: { from: rows, mode: append, sink: { connection: analytics } }
models:
  daily: { sql: m.sql }
checks:
  - { name: recent, sql: "SELECT * FROM {{ ref('fact') }} WHERE v < 0" }
`);
    writeFileSync(path.join(dir, 'p.yaml'), text);
    expect(() => loadPipelineFile(path.join(dir, 'p.yaml'))).toThrow(
      /models\.daily\.sql: m\.sql: ref\('fact'\): models run in PostgreSQL; "fact" loads into ClickHouse[\s\S]*checks\[0\]\.sql: ref\('fact'\): checks run in PostgreSQL/,
    );
  });

  it('takes the URL as a literal or a secret reference, never a password in the spec', () => {
    const text = spec('  fact: { from: rows, mode: append, sink: { connection: analytics } }\n').replace(
      'url: env:CH_URL, password: env:CH_PASSWORD',
      'url: ftp://x, password: hunter2',
    );
    expect(problems(text)).toEqual([
      '4 connections.analytics.url: must be an http(s) URL, env:VARIABLE or file:/path',
      '4 connections.analytics.password: must be env:VARIABLE or file:/path (secrets are never written in the spec)',
    ]);
    expect(resolveSecret('env:CH_X', { CH_X: 'secret' })).toBe('secret');
  });
});
