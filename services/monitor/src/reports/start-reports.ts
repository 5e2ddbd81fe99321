/**
 * The reports feature as the monitor starts it: its own small PostgreSQL pool (report queries
 * never take the fold loops' connections), the registry watching the folder, the runner and
 * the router. A few lines in app.ts wire it in, with the status snapshot's view of the loads.
 */
import type { Pipeline } from '@tributary/contract/spec';
import type { Logger } from '@tributary/runtime/logger';
import type { Router } from 'express';
import { Pool } from 'pg';
import type { MonitorConfig } from '../config';
import type { QueryLimits } from './query-runner';
import { ReportRunner, type TableLoad } from './report-data';
import { ReportRegistry } from './report-registry';
import { createReportsRouter } from './reports-router';

/** The running reports feature. */
export interface Reports {
  registry: ReportRegistry;
  router: Router;
  stop(): Promise<void>;
}

/** The query limits from the monitor's configuration. */
export function reportLimits(config: MonitorConfig): QueryLimits {
  return {
    statementTimeoutMs: config.MONITOR_REPORTS_STATEMENT_TIMEOUT,
    maxRows: config.MONITOR_REPORTS_MAX_ROWS,
    role: config.MONITOR_REPORTS_ROLE,
  };
}

/** Starts watching the reports folder and returns the router serving them. */
export function startReports(opts: {
  config: MonitorConfig;
  dir: string;
  pipelines: readonly Pipeline[];
  logger: Logger;
  /** The loads of every table, by `pipeline.table` (the monitor's status snapshot): when query results go stale. */
  loads?: () => Promise<Map<string, TableLoad>>;
}): Reports {
  const { config, logger } = opts;
  const pool = new Pool({
    connectionString: config.MONITOR_REPORTS_DATABASE_URL ?? config.DATABASE_URL,
    max: config.MONITOR_REPORTS_DB_POOL,
    connectionTimeoutMillis: 5_000,
  });
  pool.on('error', (err) => logger.warn({ err }, 'idle report connection failed'));
  const limits = reportLimits(config);
  const registry = new ReportRegistry({ dir: opts.dir, pipelines: opts.pipelines, logger, pool, limits });
  registry.start();
  const runner = new ReportRunner(pool, limits, {
    loads: opts.loads,
    feeds: () => registry.feeds,
    policy: { floorMs: config.MONITOR_REPORTS_REFRESH_FLOOR, factor: config.MONITOR_REPORTS_REFRESH_FACTOR },
    share: config.MONITOR_REPORTS_REFRESH_SHARE,
  });
  const router = createReportsRouter({ registry, runner });
  return {
    registry,
    router,
    stop: async () => {
      registry.stop();
      runner.close();
      await registry.settled();
      await pool.end();
    },
  };
}
