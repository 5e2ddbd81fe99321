import type { Pipeline } from '@tributary/contract/spec';
import type { StageLag } from './consumer-lag';
import { buildPipelineStatus, freshnessSeconds } from './pipeline-status';
import type { StatusCounts } from './status-counts';

const pipeline: Pipeline = {
  name: 'p',
  file: '/x/p.yaml',
  dir: '/x',
  slaFreshnessMs: 2_000,
  connections: {},
  sources: { gantry: { kind: 'push' }, sim: { kind: 'push' } },
  datasets: [{ name: 'passages', from: ['gantry', 'sim'], fields: [{ name: 'id', type: 'string', required: false }], steps: [] }],
  tables: [{ name: 'fact', from: 'passages', mode: 'append' }],
  schemas: {},
};
const lag: StageLag = {
  transformer: { pending: 1, ack_pending: 0, redelivered: 0 },
  loader: { pending: 0, ack_pending: 0, redelivered: 0 },
};
const log = (stream: string, name: string, records: number, extra: Partial<StatusCounts['streamLog'][number]> = {}) => ({
  pipeline: 'p',
  stream,
  name,
  stage: null,
  replay: false,
  records,
  filtered: 0,
  routed: 0,
  maxIngestedMs: null,
  minIngestedMs: null,
  ...extra,
});

describe('buildPipelineStatus', () => {
  it('adds stream-log and ledger sums into per-source, dataset, table and stage counts; replays count as replayed, not accepted', () => {
    const counts: StatusCounts = {
      streamLog: [
        log('raw', 'gantry', 8, { maxIngestedMs: 10_000, minIngestedMs: 1_000 }),
        log('raw', 'sim', 2, { maxIngestedMs: 12_000, minIngestedMs: 12_000 }),
        // Two dead letters replayed by the console: neither received nor accepted again, nor newer data.
        log('raw', 'gantry', 2, { replay: true, maxIngestedMs: 90_000, minIngestedMs: 90_000 }),
        log('processed', 'passages', 6, { filtered: 2 }),
        log('dlq', 'gantry', 3, { stage: 'ingest' }),
        log('dlq', 'passages', 1, { stage: 'transform' }),
        log('dlq', 'gantry', 1, { stage: 'transform' }),
        log('dlq', 'passages', 1, { stage: 'load' }),
        { ...log('raw', 'gantry', 100), pipeline: 'other' },
      ],
      ledger: [
        {
          pipeline: 'p',
          table: 'fact',
          records: 5,
          written: 4,
          inserted: 3,
          updated: 1,
          unchanged: 0,
          skipped: 1,
          maxIngestedMs: 9_000,
          lastLoadedAt: new Date(50_000),
          maxSourceTime: '1970-01-01T00:01:30.000001Z',
        },
      ],
    };
    expect(buildPipelineStatus(pipeline, counts, lag, 99_000)).toEqual({
      name: 'p',
      sla: { freshness_seconds: 2 },
      freshness_seconds: 3,
      source_freshness_seconds: 9,
      newest_source_time: '1970-01-01T00:01:30.000001Z',
      fresh: false,
      received: 13,
      accepted: 10,
      rejected: 3,
      replayed: 2,
      sources: { gantry: { accepted: 8, rejected: 3, replayed: 2 }, sim: { accepted: 2, rejected: 0, replayed: 0 } },
      datasets: { passages: { records: 6, filtered: 2, dead_lettered: 1 } },
      tables: {
        fact: {
          loaded: 5,
          written: 4,
          inserted: 3,
          updated: 1,
          unchanged: 0,
          skipped: 1,
          dead_lettered: 1,
          newest_ingested_at: new Date(9_000).toISOString(),
          last_loaded_at: new Date(50_000).toISOString(),
          newest_source_time: '1970-01-01T00:01:30.000001Z',
          source_freshness_seconds: 9,
        },
      },
      dead_lettered: { ingest: 3, transform: 2, load: 1, total: 6 },
      filtered: 2,
      lag,
      last_loaded_at: new Date(50_000).toISOString(),
      drift: [],
    });
  });

  it('counts a record filtered by the datasets of the other tables of its CDC source once: accepted = loaded + filtered + dead-lettered', () => {
    const cdc: Pipeline = {
      ...pipeline,
      sources: { db: { kind: 'push' } },
      datasets: ['orders', 'lines', 'staff'].map((name) => ({ name, from: ['db'], fields: [], steps: [] })),
      tables: ['orders', 'lines', 'staff'].map((name) => ({ name: `fact_${name}`, from: name, mode: 'append' as const })),
    };
    const ledger = (table: string, records: number) => ({
      pipeline: 'p',
      table,
      records,
      written: records,
      inserted: records,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      maxIngestedMs: 1_000,
      lastLoadedAt: new Date(1_000),
      maxSourceTime: null,
    });
    // 10 records: 5 orders, 3 lines, 1 staff row, 1 of a table no dataset keeps.
    const s = buildPipelineStatus(
      cdc,
      {
        streamLog: [
          log('raw', 'db', 10),
          log('processed', 'orders', 5, { filtered: 5, routed: 4 }),
          log('processed', 'lines', 3, { filtered: 7, routed: 7 }),
          log('processed', 'staff', 1, { filtered: 9, routed: 9 }),
        ],
        ledger: [ledger('fact_orders', 5), ledger('fact_lines', 3), ledger('fact_staff', 1)],
      },
      lag,
      1_000,
    );
    expect(s.datasets.lines).toEqual({ records: 3, filtered: 7, dead_lettered: 0 });
    expect(s.filtered).toBe(1);
    const loaded = Object.values(s.tables).reduce((n, t) => n + t.loaded, 0);
    expect(s.accepted).toBe(loaded + s.filtered + s.dead_lettered.transform + s.dead_lettered.load);
  });

  it('reports zeros for every declared source, dataset and table of an idle pipeline, which is fresh', () => {
    const s = buildPipelineStatus(pipeline, { streamLog: [], ledger: [] }, lag, 0);
    expect(s).toMatchObject({
      freshness_seconds: 0,
      fresh: true,
      received: 0,
      replayed: 0,
      sources: { gantry: { accepted: 0, rejected: 0, replayed: 0 }, sim: { accepted: 0, rejected: 0, replayed: 0 } },
      datasets: { passages: { records: 0, filtered: 0, dead_lettered: 0 } },
      tables: {
        fact: {
          loaded: 0,
          written: 0,
          inserted: 0,
          updated: 0,
          unchanged: 0,
          skipped: 0,
          dead_lettered: 0,
          newest_ingested_at: null,
          last_loaded_at: null,
        },
      },
      last_loaded_at: null,
      source_freshness_seconds: null,
      newest_source_time: null,
    });
  });

  it('is not fresh when the newest source time loaded is older than the SLA, although ingest is caught up', () => {
    const ledger = (table: string, maxSourceTime: string | null) => ({
      pipeline: 'p',
      table,
      records: 1,
      written: 1,
      inserted: 1,
      updated: 0,
      unchanged: 0,
      skipped: 0,
      maxIngestedMs: 1_000,
      lastLoadedAt: new Date(1_000),
      maxSourceTime,
    });
    const counts = (times: (string | null)[]): StatusCounts => ({
      streamLog: [log('raw', 'gantry', 1, { maxIngestedMs: 1_000, minIngestedMs: 1_000 })],
      ledger: times.map((t, i) => ledger(`t${i}`, t)),
    });
    // The newest of the tables counts for the pipeline; each table keeps its own.
    const s = buildPipelineStatus(pipeline, counts(['1970-01-01T00:00:01.000000Z', '1970-01-01T00:00:09.500000Z', null]), lag, 10_000);
    expect(s).toMatchObject({ freshness_seconds: 0, source_freshness_seconds: 0.5, fresh: true });
    expect(s.tables.t0!.source_freshness_seconds).toBe(9);
    expect(s.tables.t2!.source_freshness_seconds).toBeNull();
    expect(buildPipelineStatus(pipeline, counts(['1970-01-01T00:00:07.000000Z']), lag, 10_000)).toMatchObject({
      freshness_seconds: 0,
      source_freshness_seconds: 3,
      fresh: false,
    });
  });
});

describe('freshnessSeconds', () => {
  it('is the gap between newest accepted and newest loaded ingest times, floored at 0', () => {
    expect(freshnessSeconds({ maxMs: 10_500, minMs: 0 }, 4_000, true, 0)).toBe(6.5);
    expect(freshnessSeconds({ maxMs: 4_000, minMs: 0 }, 10_000, true, 0)).toBe(0);
  });
  it('is 0 when nothing was accepted or there is nothing to load into', () => {
    expect(freshnessSeconds({ maxMs: null, minMs: null }, null, true, 5_000)).toBe(0);
    expect(freshnessSeconds({ maxMs: 1_000, minMs: 1_000 }, null, false, 5_000)).toBe(0);
  });
  it('is the age of the oldest accepted record while nothing has been loaded', () => {
    expect(freshnessSeconds({ maxMs: 3_000, minMs: 1_000 }, null, true, 5_000)).toBe(4);
  });
});
