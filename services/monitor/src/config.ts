/**
 * monitor configuration, read once from the environment. The alert thresholds' defaults are the
 * alert catalogue's (alerts/alert-catalogue.ts), which the Prometheus rules are generated from too.
 */
import { commonEnv, envDuration, envInt, envPort, readEnv } from '@tributary/runtime/env-config';
import { z } from 'zod';
import { ALERT_DEFAULTS } from './alerts/alert-catalogue';

/** A comma-separated list variable (empty entries dropped). */
const envList = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    );

/** An optional URL variable (empty means unset). */
const envUrl = () =>
  z
    .string()
    .optional()
    .transform((v) => (v ? v : undefined))
    .pipe(z.url().optional());

/** The variables this service reads, with their defaults (docs/configuration.md is generated from it). */
export const configSchema = z.object({
  ...commonEnv,
  /** HTTP port of the dashboard, the API and the metrics. */
  MONITOR_PORT: envPort(8080),
  /**
   * How long one status snapshot (counts, lag, freshness) is reused by `/api` and `/metrics`,
   * so many dashboards and scrapers cost one set of queries per period. `0ms` turns caching off.
   */
  MONITOR_REFRESH: envDuration('2s'),
  /** Messages folded into PostgreSQL per transaction by each fold loop. */
  MONITOR_FOLD_BATCH: envInt(500, 1),
  /** Connections in the PostgreSQL pool (three fold loops plus HTTP queries). */
  MONITOR_DB_POOL: envInt(6, 2),
  /**
   * Monitoring endpoints of the NATS servers (comma-separated `http://host:8222`): where the
   * cluster view reads the JetStream meta leader. Without them `/api/cluster` shows servers and
   * stream replicas but not the meta leader.
   */
  NATS_MONITOR_URLS: envList(),
  /** Timeout of JetStream API requests (consumer info for lag) and of the readiness probe of PostgreSQL. */
  MONITOR_REQUEST_TIMEOUT: envDuration('2s'),
  /** Most dead letters one `/api/dlq` request returns. */
  MONITOR_DLQ_MAX_LIMIT: envInt(1000, 1),
  /** How long the DLQ console's preview (a dry run of fixed dead letters) waits for a transformer's answer. */
  MONITOR_PREVIEW_TIMEOUT: envDuration('10s'),
  /** Bearer token of the dashboard's write actions (DLQ replay and discard); unset disables them. */
  MONITOR_ADMIN_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  /** How often the live feed (server-sent events) pushes a status update to dashboards. */
  MONITOR_LIVE_INTERVAL: envDuration('2s'),
  /** A replica whose last heartbeat is older than this is reported missing. */
  MONITOR_REPLICA_TIMEOUT: envDuration('15s'),
  /** A missing or stopped replica is forgotten after this long. */
  MONITOR_REPLICA_FORGET: envDuration('10m'),
  /** Services whose replicas are expected (a service seen before with no live replica alerts). */
  MONITOR_SERVICES: envList().default(['ingest-api', 'transformer', 'loader']),
  /** How often alert rules are evaluated. */
  MONITOR_ALERT_INTERVAL: envDuration('5s'),
  /** How long a rule's condition must hold before its alert fires (Prometheus `for`), for the rules whose catalogue `for` is the default; the others keep their own. */
  MONITOR_ALERT_FOR: envDuration(ALERT_DEFAULTS.for),
  /** Consumer lag alert: pending + un-acked messages of a stage above this. */
  MONITOR_ALERT_LAG_MESSAGES: envInt(ALERT_DEFAULTS.lagMessages, 0),
  /** Replication-slot lag alert: a CDC slot behind for longer than this (not advancing while WAL is pending). */
  MONITOR_ALERT_SLOT_LAG: envDuration(ALERT_DEFAULTS.slotLag),
  /** Replication-slot lag alert: a CDC slot keeping more WAL than this many bytes. */
  MONITOR_ALERT_SLOT_LAG_BYTES: envInt(ALERT_DEFAULTS.slotLagBytes, 0),
  /** Window of the DLQ-growth and error-rate rules. */
  MONITOR_ALERT_WINDOW: envDuration(ALERT_DEFAULTS.window),
  /** DLQ growth alert: more than this many records dead-lettered within the window. */
  MONITOR_ALERT_DLQ_GROWTH: envInt(ALERT_DEFAULTS.dlqGrowth, 0),
  /** Error-rate alert: dead-lettered (transform + load) per accepted record within the window above this. */
  MONITOR_ALERT_ERROR_RATE: z.coerce.number().min(0).max(1).default(ALERT_DEFAULTS.errorRate),
  /** Source-failing alert: a pull source that failed this many runs in a row. */
  MONITOR_ALERT_SOURCE_FAILURES: envInt(ALERT_DEFAULTS.sourceFailures, 1),
  /** Source-overdue alert: a pull source with no whole success within its schedule period plus this. */
  MONITOR_SOURCE_SLACK: envDuration('5m'),
  /** Slack-compatible webhooks (comma-separated) that get alert notifications. */
  MONITOR_ALERT_WEBHOOKS: envList(),
  /** SMTP server for alert email, e.g. `smtp://user:pass@mail.example.com:587` (`smtps://` for TLS). */
  MONITOR_ALERT_SMTP_URL: envUrl(),
  /** Sender of alert email. */
  MONITOR_ALERT_EMAIL_FROM: z.string().default('tributary@localhost'),
  /** Recipients of alert email (comma-separated). */
  MONITOR_ALERT_EMAIL_TO: envList(),
  /** Alertmanager base URL; alerts are POSTed to `<url>/api/v2/alerts`. */
  MONITOR_ALERTMANAGER_URL: envUrl(),
  /** Firing alerts are re-sent to Alertmanager this often (it resolves alerts not re-sent). */
  MONITOR_ALERTMANAGER_RESEND: envDuration('1m'),
  /** The dashboard's public URL, for links in notifications. */
  MONITOR_PUBLIC_URL: z.string().default('http://localhost:8080'),
  /** OpenLineage endpoint (e.g. Marquez); run events are POSTed to `<url>/api/v1/lineage`. */
  MONITOR_OPENLINEAGE_URL: envUrl(),
  /** OpenLineage namespace of Tributary's jobs. */
  MONITOR_OPENLINEAGE_NAMESPACE: z.string().default('tributary'),
  /** Folder of the report files (`*.md`); default: `reports` beside the pipelines folder. */
  TRIBUTARY_REPORTS: z.string().optional(),
  /** Database URL report queries connect with (a login of `tributary_reader`); default DATABASE_URL. */
  MONITOR_REPORTS_DATABASE_URL: z.string().optional(),
  /** Role report queries run as (`SET LOCAL ROLE`): the read-only warehouse role. */
  MONITOR_REPORTS_ROLE: z.string().default('tributary_reader'),
  /** Statement timeout of one report query; a slower query shows its error in its tiles. */
  MONITOR_REPORTS_STATEMENT_TIMEOUT: envDuration('10s'),
  /** Most rows one report query returns; the tile says when rows were cut. */
  MONITOR_REPORTS_MAX_ROWS: envInt(10_000, 1),
  /** Connections of the report queries' own pool (kept apart from the fold loops'). */
  MONITOR_REPORTS_DB_POOL: envInt(4, 1),
  /**
   * Least time between two runs of one report query (same inputs) as loads commit to the tables it
   * reads; every page and viewer shares each run. A report's `refresh_floor` overrides it.
   */
  MONITOR_REPORTS_REFRESH_FLOOR: envDuration('5s'),
  /** A report query runs again at most once per this many times its last run time (a report's `refresh_factor` overrides it). */
  MONITOR_REPORTS_REFRESH_FACTOR: z.coerce.number().min(1).default(10),
  /**
   * Share (0-1) of one connection's time that report queries re-run because of loads may take,
   * all reports together: they run one at a time, without parallel workers (one core), each
   * followed by a rest in that proportion.
   * First runs and a viewer's new inputs are not held back.
   */
  MONITOR_REPORTS_REFRESH_SHARE: z.coerce.number().gt(0).max(1).default(0.05),
});

/** Parsed monitor configuration. */
export type MonitorConfig = z.output<typeof configSchema>;

/** Reads and validates the configuration; throws TRIB_E_CONFIG naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): MonitorConfig {
  return readEnv(configSchema, env);
}
