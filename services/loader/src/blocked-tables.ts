/**
 * Tables the loader must not write: their warehouse schema cannot take the spec (a changed type,
 * key or mode that `migrate` refused). Found at start-up, logged as TRIB_E_SCHEMA_INCOMPATIBLE,
 * exported as `tributary_table_blocked`; their records are dead-lettered while other tables load.
 */
import { inPostgres, type Pipeline } from '@tributary/contract/spec';
import { schemaProblems } from '@tributary/warehouse/table-ddl';
import type { Logger } from '@tributary/runtime/logger';
import type { Pool } from 'pg';
import { Gauge, type Registry } from 'prom-client';

const gauges = new WeakMap<Registry, Gauge>();

/**
 * The blocked tables of `pipeline` with the reason, checked against the live warehouse; tables
 * loading into ClickHouse were checked when their sink opened (`clickhouse`: their problems).
 */
export async function blockedTables(
  pool: Pool,
  pipeline: Pipeline,
  registry: Registry,
  logger: Logger,
  clickhouse: ReadonlyMap<string, string[]> = new Map(),
): Promise<Map<string, string>> {
  let gauge = gauges.get(registry);
  if (!gauge) {
    gauge = new Gauge({
      name: 'tributary_table_blocked',
      help: 'Whether a warehouse table is stopped by an incompatible schema change (1) or loading (0).',
      labelNames: ['pipeline', 'table'],
      registers: [registry],
    });
    gauges.set(registry, gauge);
  }
  const out = new Map<string, string>();
  for (const t of pipeline.tables) {
    const problems = inPostgres(t) ? (await schemaProblems(pool, pipeline, t)).problems : (clickhouse.get(t.name) ?? []);
    gauge.set({ pipeline: pipeline.name, table: t.name }, problems.length > 0 ? 1 : 0);
    if (problems.length === 0) continue;
    const message = `table ${inPostgres(t) ? 'warehouse.' : 'ClickHouse '}${t.name} is stopped by an incompatible schema change (fix the spec or the table, run migrate, restart the loader, then replay its dead letters): ${problems.join('; ')}`;
    out.set(t.name, message);
    logger.error({ pipeline: pipeline.name, table: t.name, code: 'TRIB_E_SCHEMA_INCOMPATIBLE', problems }, message);
  }
  return out;
}
