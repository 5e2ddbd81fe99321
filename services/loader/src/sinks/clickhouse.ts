/**
 * The `clickhouse` sink: a table with `sink: { connection: <clickhouse connection> }` loads into
 * that ClickHouse server (clickhouse/clickhouse-table-writer.ts: idempotent writes before the
 * ledger commit, made visible after it). The tables of one connection share its client.
 */
import { clickhouseConnectionOf, SINK_MODES, SINK_SPECS, sinkOf } from '@tributary/contract/spec';
import { clickhouseLayout, ClickHouseClient } from '@tributary/warehouse/clickhouse';
import { ClickHouseTableWriter } from '../clickhouse/clickhouse-table-writer';
import type { SinkKind } from '../sink';

/** Config shape (from the core spec): `sink: { connection }`. */
export const spec = SINK_SPECS.clickhouse;

/** The real-time modes only (core's SINK_MODES says why). */
export const modes = SINK_MODES.clickhouse;

/** Creates the table's sink; the connection's client is made on first use, no request is sent. */
export const create: SinkKind<typeof spec>['create'] = (table, { pipeline, logger, shared }) => {
  const connection = clickhouseConnectionOf(pipeline, table);
  // The spec check guarantees a connection; a hand-built Pipeline may not have one.
  if (!connection) throw new Error(`table ${table.name} has no ClickHouse sink`);
  const client = shared(`clickhouse:${sinkOf(table)!.connection}`, () => ClickHouseClient.fromConnection(connection));
  return new ClickHouseTableWriter({ client, layout: clickhouseLayout(pipeline, table, connection.database) }, pipeline, table, logger);
};
