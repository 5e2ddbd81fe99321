/**
 * Where a table loads: PostgreSQL (the default) or a ClickHouse server named by a `clickhouse`
 * connection (`sink: { connection: analytics }`). Only the real-time modes go to ClickHouse:
 * `append` (every record, made exact by (message ID, record index)) and `aggregate` (partial
 * aggregates summed in a view). The other modes merge rows in place under PostgreSQL row locks,
 * which ClickHouse 18.16 (no transactions, no unique keys) cannot do.
 *
 * What a ClickHouse table cannot have, checked on the raw document with every other problem:
 * a `key` or `lookups` on an append table (no unique index to skip repeats against; use a
 * `dedupe` step), PostgreSQL storage options, windows shorter than a second (ClickHouse 18.16's
 * DateTime has whole seconds), a window `emit` without a PostgreSQL aggregate table (finality is
 * decided under PostgreSQL row locks), and checks or `enrich` lookups naming it (they run in
 * PostgreSQL; SQL models and checks that `ref()` it are refused in warehouse-spec.ts, where the
 * SQL files are read).
 */
import { z } from 'zod';
import { identifier } from './common';
import type { ConnectionSpec } from './connections';

/** `sink:` of a table. */
export const tableSinkSpec = z
  .strictObject({
    connection: identifier.meta({ description: 'A `clickhouse` connection declared under `connections:`.' }),
  })
  .meta({
    title: 'sink',
    description:
      'Load this table into ClickHouse instead of PostgreSQL (`append` and `aggregate` only). The loader keeps its ledger in PostgreSQL and writes ClickHouse idempotently, so loads stay exactly once.',
  });

/** A parsed `sink:`. */
export type TableSink = z.output<typeof tableSinkSpec>;

/** A table without `sink:`: it loads into the pipeline's PostgreSQL warehouse. */
export const postgresSinkSpec = z.undefined().meta({
  title: 'postgres',
  description: 'No `sink:`: the table loads into the PostgreSQL warehouse, in any load mode.',
});

/**
 * The sink kinds, by name: what a table's `sink:` may say. Each is implemented by the loader's
 * `sinks/<kind>.ts`, which re-exports its entry here and in SINK_MODES (a registry test checks).
 */
export const SINK_SPECS = { postgres: postgresSinkSpec, clickhouse: tableSinkSpec } as const;

/** A sink kind name. */
export type SinkKind = keyof typeof SINK_SPECS;

/** The ClickHouse connection spec. */
export type ClickHouseConnection = Extract<ConnectionSpec, { kind: 'clickhouse' }>;
