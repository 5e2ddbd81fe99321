/**
 * Opens the ClickHouse tables of a pipeline when the loader starts: each is created or evolved as
 * `migrate` does (so a loader started against an empty ClickHouse, or after a ClickHouse wipe,
 * still loads), and one whose change is incompatible is reported, to be blocked like a PostgreSQL
 * table (its records dead-lettered with TRIB_E_SCHEMA_INCOMPATIBLE, the others loading).
 * An unreachable ClickHouse fails the start, as an unreachable PostgreSQL does.
 */
import {
  clickhouseConnectionOf,
  clickhouseLayout,
  ClickHouseClient,
  ensureClickHouseTable,
  isTributaryError,
  sinkOf,
  type Logger,
  type Pipeline,
} from '@tributary/core';
import { ClickHouseTableWriter } from './clickhouse-table-writer';

/** The writers of a pipeline's ClickHouse tables, the problems of incompatible ones, one client per connection. */
export interface ClickHouseSinks {
  writers: Map<string, ClickHouseTableWriter>;
  problems: Map<string, string[]>;
  clients: ClickHouseClient[];
}

/** Ensures and opens every ClickHouse table of `pipeline`. */
export async function openClickHouseSinks(pipeline: Pipeline, logger: Logger): Promise<ClickHouseSinks> {
  const out: ClickHouseSinks = { writers: new Map(), problems: new Map(), clients: [] };
  const clients = new Map<string, ClickHouseClient>();
  try {
    for (const t of pipeline.tables) {
      const connection = clickhouseConnectionOf(pipeline, t);
      if (!connection) continue;
      const name = sinkOf(t)!.connection;
      const client = clients.get(name) ?? ClickHouseClient.fromConnection(connection);
      clients.set(name, client);
      const target = { client, layout: clickhouseLayout(pipeline, t, connection.database) };
      try {
        for (const action of await ensureClickHouseTable(target, pipeline, t))
          logger.info({ pipeline: pipeline.name, table: t.name }, action);
      } catch (err) {
        if (!isTributaryError(err, 'TRIB_E_SCHEMA_INCOMPATIBLE')) throw err;
        out.problems.set(t.name, (err.details as string[] | undefined) ?? [err.message]);
      }
      out.writers.set(t.name, new ClickHouseTableWriter(target, t));
    }
  } catch (err) {
    for (const c of clients.values()) c.close();
    throw err;
  }
  out.clients = [...clients.values()];
  return out;
}

/** The first ClickHouse server that does not answer `/ping`, in words (for /readyz); undefined when all do. */
export async function clickhouseReady(clients: Iterable<ClickHouseClient>): Promise<string | undefined> {
  for (const c of clients) if (!(await c.ping())) return `ClickHouse at ${c.where} unreachable`;
  return undefined;
}
