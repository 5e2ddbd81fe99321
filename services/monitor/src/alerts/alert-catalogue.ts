/**
 * The alert catalogue: every Tributary alert once, as data. The monitor's own rules (alert-rules.ts,
 * source-rules.ts) take their names, severities and default thresholds from here, and
 * `npm run generate:monitoring` writes the Prometheus rules from it: deploy/prometheus/tributary-rules.yml,
 * the chart's files/prometheus-rules.yaml, kustomize's PrometheusRule, and the alert table of
 * docs/operations.md (tests/docs/monitoring-files.test.ts fails when a copy differs).
 * Adding an alert is one entry in ALERT_RULES (plus its promtool case in
 * deploy/prometheus/tributary-rules.test.yml and, for a `monitor` rule, its condition in alert-rules.ts).
 *
 * Every monitor replica exports the same status gauges (tributary_pipeline_*, tributary_consumer_*,
 * tributary_source_*, ...): aggregate them with `max by`, never `sum by`, or two replicas count
 * twice. The test checks every expression here and in the Grafana dashboard for that.
 *
 * Longer than 300 lines because it is the one list of every alert (data, one entry each), which
 * every deploy artifact is generated from.
 */
import { parseDuration } from '@tributary/contract/spec';
import type { Severity } from './alert-condition';

/** Default thresholds: the monitor's MONITOR_ALERT_* defaults and the Prometheus rules' constants. */
export const ALERT_DEFAULTS = {
  /**
   * How long a condition holds before its alert fires (Prometheus `for`); the monitor holds the
   * rules whose `for` is this one for MONITOR_ALERT_FOR instead (`monitorForMs`).
   */
  for: '1m',
  /** Consumer lag: pending + un-acked messages of a stage (MONITOR_ALERT_LAG_MESSAGES). */
  lagMessages: 1000,
  /** Window of the DLQ-growth and error-rate rules (MONITOR_ALERT_WINDOW). */
  window: '5m',
  /** Dead letters within the window (MONITOR_ALERT_DLQ_GROWTH). */
  dlqGrowth: 100,
  /** Transform + load dead letters per accepted record within the window (MONITOR_ALERT_ERROR_RATE). */
  errorRate: 0.05,
  /** A CDC slot not advancing this long while WAL is pending (MONITOR_ALERT_SLOT_LAG). */
  slotLag: '5m',
  /** A CDC slot keeping more WAL than this (MONITOR_ALERT_SLOT_LAG_BYTES). */
  slotLagBytes: 1024 * 1024 * 1024,
  /** Failed runs in a row of a pull source (MONITOR_ALERT_SOURCE_FAILURES). */
  sourceFailures: 3,
  /** A consumer loop retrying an unavailable NATS or PostgreSQL this long (Prometheus only). */
  outage: '2m',
  /** How long an isolated message keeps TributaryMessagesIsolated firing (Prometheus only). */
  isolatedWindow: '10m',
} as const;

const D = ALERT_DEFAULTS;
const seconds = (d: string): number => parseDuration(d) / 1000;

/** One alert rule. */
export interface AlertRuleSpec {
  alert: string;
  severity: Severity;
  /** True when the monitor also evaluates it in process (alert-rules.ts); else Prometheus alone. */
  monitor: boolean;
  /** What it means, for docs/operations.md (Markdown, one line). */
  description: string;
  /** Why the expression is written as it is: a comment above it in the rules file. */
  comment?: string;
  /** The PromQL expression. */
  expr: string;
  /**
   * How long the condition holds before the alert fires (absent: at the first evaluation), in
   * Prometheus and in the monitor alike (`monitorForMs`); `ALERT_DEFAULTS.for` means the default,
   * which the monitor's MONITOR_ALERT_FOR overrides.
   */
  for?: string;
  /** The Prometheus summary annotation (a Prometheus template). */
  summary: string;
}

/** Every alert, in the order the monitor evaluates its own. */
export const ALERT_RULES = [
  {
    alert: 'TributaryFreshnessBreach',
    severity: 'critical',
    monitor: true,
    description:
      "freshness (newest ingest time accepted − newest loaded), or source freshness (now − the newest source time loaded: a stopped source, ingest-api or loader), exceeds the pipeline's `sla.freshness`",
    comment:
      "Newest ingest time accepted minus newest loaded, or now minus the newest source time loaded (a stopped source, ingest or loader), against the pipeline's sla.freshness.",
    expr: `max by (pipeline) (tributary_pipeline_freshness_seconds)
  > on (pipeline) max by (pipeline) (tributary_pipeline_sla_freshness_seconds)
or
max by (pipeline) (tributary_pipeline_source_freshness_seconds)
  > on (pipeline) max by (pipeline) (tributary_pipeline_sla_freshness_seconds)`,
    for: D.for,
    summary: '{{ $labels.pipeline }}: warehouse data is {{ $value }} s behind ingest or its sources, beyond its freshness SLA',
  },
  {
    alert: 'TributaryConsumerLag',
    severity: 'warning',
    monitor: true,
    description: 'messages waiting for a stage (pending + un-acked) exceed `MONITOR_ALERT_LAG_MESSAGES`',
    expr: `max by (pipeline, stage) (tributary_consumer_pending_messages)
  + max by (pipeline, stage) (tributary_consumer_ack_pending_messages) > ${D.lagMessages}`,
    for: D.for,
    summary: '{{ $labels.pipeline }}: {{ $value }} messages waiting for the {{ $labels.stage }}',
  },
  {
    alert: 'TributaryDlqGrowth',
    severity: 'warning',
    monitor: true,
    description: 'more than `MONITOR_ALERT_DLQ_GROWTH` records dead-lettered within `MONITOR_ALERT_WINDOW`',
    comment: 'tributary_pipeline_records is a gauge of durable totals, so delta() (not rate()).',
    expr: `max by (pipeline) (delta(tributary_pipeline_records{kind="dead_lettered"}[${D.window}])) > ${D.dlqGrowth}`,
    for: D.for,
    summary: `{{ $labels.pipeline }}: {{ $value }} records dead-lettered in the last ${D.window}`,
  },
  {
    alert: 'TributaryErrorRate',
    severity: 'warning',
    monitor: true,
    description: 'transform + load dead letters per accepted record within the window exceed `MONITOR_ALERT_ERROR_RATE`',
    comment: 'Dead-lettered by transform and load (all dead letters minus those rejected at ingest) per accepted record.',
    expr: `(
  max by (pipeline) (delta(tributary_pipeline_records{kind="dead_lettered"}[${D.window}]))
    - max by (pipeline) (delta(tributary_pipeline_records{kind="rejected"}[${D.window}]))
)
  / (max by (pipeline) (delta(tributary_pipeline_records{kind="accepted"}[${D.window}])) > 0)
  > ${D.errorRate}`,
    for: D.for,
    summary: '{{ $labels.pipeline }}: {{ $value | humanizePercentage }} of accepted records failed in transform or load',
  },
  {
    alert: 'TributarySlotLag',
    severity: 'warning',
    monitor: true,
    description:
      'a `postgres_cdc` replication slot has not advanced for `MONITOR_ALERT_SLOT_LAG` while WAL is pending, or keeps more than `MONITOR_ALERT_SLOT_LAG_BYTES`; read from the source database, so it fires while the ingest-api is down',
    comment: 'Read by the monitor from the source database itself, so it holds while the ingest-api is down.',
    expr: `max by (pipeline, source, slot) (tributary_source_slot_lag_seconds) > ${seconds(D.slotLag)}
  or max by (pipeline, source, slot) (tributary_source_slot_lag_bytes) > ${D.slotLagBytes}`,
    for: D.for,
    summary: '{{ $labels.pipeline }}: replication slot {{ $labels.slot }} of source {{ $labels.source }} is behind ({{ $value }})',
  },
  {
    alert: 'TributaryReplicaMissing',
    severity: 'warning',
    monitor: true,
    description: 'a replica stopped heartbeating without a goodbye',
    comment: 'A replica that stopped heartbeating without a goodbye (the monitor marks it missing).',
    expr: 'max by (service) (tributary_service_replicas{state="missing"}) > 0',
    for: D.for,
    summary: '{{ $labels.service }}: {{ $value }} replica(s) stopped sending heartbeats',
  },
  {
    alert: 'TributaryServiceDown',
    severity: 'critical',
    monitor: true,
    description: 'a service in `MONITOR_SERVICES` has no live replica',
    expr: 'max by (service) (tributary_service_replicas{state=~"live|not_ready"}) == 0',
    for: D.for,
    summary: '{{ $labels.service }} has no live replica',
  },
  {
    alert: 'TributaryQualityCheckFailed',
    severity: 'warning',
    monitor: true,
    description: 'the latest run of a data-quality check failed',
    expr: 'max by (pipeline, table, check) (tributary_quality_check_failing) > 0',
    for: D.for,
    summary: '{{ $labels.pipeline }}: quality check {{ $labels.check }} on {{ $labels.table }} failed',
  },
  {
    alert: 'TributaryTableBlocked',
    severity: 'critical',
    monitor: true,
    description: 'a table is stopped by an incompatible schema change; its records are dead-lettered until it is fixed and migrated',
    comment:
      "An incompatible schema change stopped a table (tributary.table_status); its records are dead-lettered with TRIB_E_SCHEMA_INCOMPATIBLE while the pipeline's other tables go on.",
    expr: 'max by (pipeline, table) (tributary_table_blocked) > 0',
    for: D.for,
    summary: '{{ $labels.pipeline }}: table {{ $labels.table }} is stopped by an incompatible schema change',
  },
  {
    alert: 'TributaryNatsClusterDegraded',
    severity: 'warning',
    monitor: true,
    description: 'a NATS server of `NATS_URL` is down, or a stream has no leader or a replica offline or lagging',
    comment:
      'A NATS server down, a stream without a leader, or a stream replica offline or lagging: still working on R3 streams, but one more loss stops them. /api/cluster says which.',
    expr: 'max(tributary_nats_cluster_degraded) > 0',
    for: D.for,
    summary: 'the NATS cluster is degraded: a server is down or stream replicas are offline or lagging (see /api/cluster)',
  },
  {
    alert: 'TributaryMonitorStatusDown',
    severity: 'critical',
    monitor: true,
    description: 'the monitor cannot read pipeline status (PostgreSQL unreachable); other alerts hold as they were',
    comment: 'Without status the rules above see no data: alert on that too.',
    expr: 'max(tributary_monitor_status_up) == 0 or absent(tributary_monitor_status_up)',
    for: '5m',
    summary: 'the Tributary monitor cannot compute pipeline status',
  },
  {
    alert: 'TributarySourceFailing',
    severity: 'critical',
    monitor: true,
    description: 'a pull source failed `MONITOR_ALERT_SOURCE_FAILURES` runs in a row; the summary carries its last error',
    comment:
      "A pull source failed this many runs in a row (MONITOR_ALERT_SOURCE_FAILURES in the monitor's own rules); the pipeline page and /api/pipelines/<name> show its last error.",
    expr: `max by (pipeline, source) (tributary_source_consecutive_failures) >= ${D.sourceFailures}`,
    summary: '{{ $labels.pipeline }}: source {{ $labels.source }} failed {{ $value }} runs in a row',
  },
  {
    alert: 'TributarySourceOverdue',
    severity: 'warning',
    monitor: true,
    description:
      'a pull source has not succeeded whole within its schedule period plus `MONITOR_SOURCE_SLACK` (failing, partial, never run)',
    comment: 'No whole success within the schedule period plus slack: failing, partial or never run.',
    expr: 'max by (pipeline, source) (tributary_source_since_success_seconds - tributary_source_success_deadline_seconds) > 0',
    for: D.for,
    summary: '{{ $labels.pipeline }}: source {{ $labels.source }} has not succeeded within its schedule plus slack',
  },
  {
    alert: 'TributarySchemaDrift',
    severity: 'warning',
    monitor: true,
    description:
      "records drifted from their dataset's fields (a new field, a missing required one, a changed type) within the alert window; the `on_drift` policy says what happened to them (docs/transforms.md, Schema drift; `drift` of /api/pipelines/<name>)",
    comment:
      'Records drifted from their dataset (new, missing or retyped fields); the on_drift policy dead-lettered, dropped or evolved them. The transformers count them: sum over replicas.',
    expr: `sum by (pipeline, dataset, kind) (increase(tributary_schema_drift_total[${D.window}])) > 0`,
    summary:
      '{{ $labels.pipeline }}: {{ $labels.kind }} fields in dataset {{ $labels.dataset }} (schema drift; see drift in /api/pipelines)',
  },
  {
    alert: 'TributaryCircuitBreakerOpen',
    severity: 'critical',
    monitor: true,
    description:
      "a pipeline's circuit breaker paused it: its records failed in the transformer at more than its `circuit_breaker.failure_rate`; new records wait in the raw stream until an operator resumes it (docs/operations.md, Circuit breaker)",
    comment:
      'The circuit breaker paused the pipeline (KV pause.<pipeline>, by "circuit breaker"): nothing is transformed or loaded until an operator fixes the cause and resumes it. A status gauge every monitor replica repeats: max.',
    expr: 'max by (pipeline) (tributary_pipeline_paused{cause="circuit_breaker"}) > 0',
    summary: '{{ $labels.pipeline }}: paused by its circuit breaker (records failing at a high rate); fix, then resume',
  },
  {
    alert: 'TributaryMessagesIsolated',
    severity: 'warning',
    monitor: false,
    description: `a consumer loop isolated a message after bounded attempts at an error that is not ours (a bug, e.g. a \`TypeError\` in a step); clears after ${D.isolatedWindow} without another`,
    comment:
      'A consumer loop dead-lettered a whole message after bounded attempts at an unknown error (a bug, e.g. a TypeError in a step): the pipeline goes on; the message waits in the DLQ with the error and its stack (docs/operations.md). A counter of each process: sum.',
    expr: `sum by (pipeline, stage) (increase(tributary_consumer_isolated_messages_total{failure="unknown"}[${D.isolatedWindow}])) > 0`,
    summary: '{{ $labels.pipeline }}: the {{ $labels.stage }} stage isolated messages on an unknown error (a bug); see the DLQ',
  },
  {
    alert: 'TributaryInfrastructureOutage',
    severity: 'critical',
    monitor: false,
    description: `a consumer loop has been retrying an unavailable NATS, JetStream or PostgreSQL for over ${D.outage} (nothing is lost, nothing moves)`,
    comment:
      'A consumer loop has been retrying JetStream, NATS or PostgreSQL for over 2 minutes (it keeps retrying: nothing is lost, but nothing moves).',
    expr: `max by (pipeline, stage) (tributary_consumer_outage_seconds) > ${seconds(D.outage)}`,
    summary: '{{ $labels.pipeline }}: the {{ $labels.stage }} stage has been retrying an unavailable NATS or PostgreSQL for {{ $value }} s',
  },
] as const satisfies readonly AlertRuleSpec[];

/** The name of an alert in the catalogue. */
export type AlertName = (typeof ALERT_RULES)[number]['alert'];

/** The severity of each alert. */
export const ALERT_SEVERITY = Object.fromEntries(ALERT_RULES.map((r) => [r.alert, r.severity])) as Record<AlertName, Severity>;

/**
 * Gauges that state one fact every replica exporting them repeats (each monitor replica reads the
 * same durable state; each loader the same table status): aggregate with max or min, never sum.
 */
export const REPLICATED_GAUGES = [
  'tributary_pipeline_records',
  'tributary_pipeline_freshness_seconds',
  'tributary_pipeline_source_freshness_seconds',
  'tributary_table_source_freshness_seconds',
  'tributary_pipeline_sla_freshness_seconds',
  'tributary_consumer_pending_messages',
  'tributary_consumer_ack_pending_messages',
  'tributary_source_slot_lag_bytes',
  'tributary_source_slot_lag_seconds',
  'tributary_source_consecutive_failures',
  'tributary_source_since_success_seconds',
  'tributary_source_success_deadline_seconds',
  'tributary_monitor_status_up',
  'tributary_monitor_fold_pending_messages',
  'tributary_service_replicas',
  'tributary_alerts',
  'tributary_quality_check_failing',
  'tributary_nats_cluster_degraded',
  'tributary_nats_server_up',
  'tributary_stream_replicas',
  'tributary_table_blocked',
  'tributary_check_failed',
  'tributary_check_failing_rows',
  'tributary_consumer_outage_seconds',
  'tributary_pipeline_paused',
] as const;

const RULE_FOR = new Map<string, string | undefined>(ALERT_RULES.map((r) => [r.alert, (r as AlertRuleSpec).for]));

/**
 * How long the monitor holds `alert`'s condition before it fires: its rule's `for` here (as in
 * Prometheus), `defaultForMs` (MONITOR_ALERT_FOR) where that is the default `for` or the alert is
 * not in the catalogue, 0 (the first evaluation) for a rule without one.
 */
export function monitorForMs(alert: string, defaultForMs: number): number {
  if (!RULE_FOR.has(alert)) return defaultForMs;
  const own = RULE_FOR.get(alert);
  if (own === undefined) return 0;
  return own === ALERT_DEFAULTS.for ? defaultForMs : parseDuration(own);
}
