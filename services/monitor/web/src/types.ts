/**
 * The shapes of the monitor's JSON API as the dashboard reads them (the server's types live in
 * services/monitor/src; these mirror only what the pages use).
 */

/** Lag of one durable consumer; nulls when NATS could not answer. */
export interface ConsumerLag {
  pending: number | null;
  ack_pending: number | null;
}

/** Records per second per node of a pipeline. */
export interface Rates {
  accepted: number;
  loaded: number;
  dead_lettered: number;
  sources: Record<string, number>;
  datasets: Record<string, number>;
  tables: Record<string, number>;
}

/** The flow of a pipeline. */
export interface Topology {
  description: string | null;
  sources: { name: string; kind: string }[];
  datasets: { name: string; from: string[] }[];
  tables: { name: string; from: string; mode: string }[];
}

/** One pipeline in the overview. */
export interface PipelineOverview {
  name: string;
  sla: { freshness_seconds: number };
  freshness_seconds: number;
  fresh: boolean;
  received: number;
  accepted: number;
  rejected: number;
  filtered: number;
  sources: Record<string, { accepted: number; rejected: number }>;
  datasets: Record<string, { records: number; filtered: number; dead_lettered: number }>;
  tables: Record<
    string,
    {
      loaded: number;
      written: number;
      skipped: number;
      dead_lettered: number;
      newest_ingested_at: string | null;
      last_loaded_at: string | null;
    }
  >;
  dead_lettered: { ingest: number; transform: number; load: number; total: number };
  lag: { transformer: ConsumerLag; loader: ConsumerLag };
  last_loaded_at: string | null;
  /** Replication-slot lag of each postgres_cdc source, read from the source database. */
  source_slots?: {
    source: string;
    slot: string;
    lag_bytes: number | null;
    lag_seconds: number | null;
    active: boolean | null;
    error?: string;
  }[];
  rates: Rates;
  topology: Topology;
}

/** A service replica. */
export interface Replica {
  service: string;
  instance: string;
  host: string;
  pid: number;
  state: 'live' | 'not_ready' | 'missing' | 'stopped';
  started_at: string;
  last_seen: string;
  age_seconds: number;
  rss_bytes: number;
  not_ready?: string;
}

/** A service and its replicas. */
export interface Service {
  service: string;
  live: number;
  replicas: Replica[];
}

/** An alert pending or firing. */
export interface ActiveAlert {
  fingerprint: string;
  alert: string;
  labels: Record<string, string>;
  severity: 'critical' | 'warning';
  summary: string;
  value: number;
  state: 'pending' | 'firing';
  activeSince: number;
  firedAt?: number;
}

/** The NATS cluster, as `/api/cluster` sends it. */
export interface ClusterStatus {
  checked_at: string;
  clustered: boolean;
  degraded: boolean;
  reasons: string[];
  meta_leader: string | null;
  meta_leader_known: boolean;
  servers: { address: string; reachable: boolean; name: string | null; version: string | null }[];
  streams: { stream: string; replicas: number; leader: string | null; current: number; lagging: number; offline: number; error?: string }[];
}

/** The overview, as `/api/overview` and the live feed send it. */
export interface Overview {
  taken_at: string;
  pipelines: PipelineOverview[];
  monitor_lag: Record<string, ConsumerLag>;
  services: Service[];
  alerts: ActiveAlert[];
  cluster: ClusterStatus;
  admin: { enabled: boolean };
}

/** Time series of a pipeline. */
export interface Series {
  step_seconds: number;
  t: number[];
  accepted: number[];
  loaded: number[];
  dead_lettered: { ingest: number[]; transform: number[]; load: number[] };
  latency: { p50: (number | null)[]; p95: (number | null)[]; max: (number | null)[] };
}

/** Dead letters grouped by stage, name and code. */
export interface ErrorGroup {
  stage: string;
  name: string;
  code: string | null;
  count: number;
  open: number;
  last_failed_at: string | null;
  example: string | null;
}

/** One loader flush. */
export interface RecentLoad {
  table: string;
  loaded_at: string;
  messages: number;
  records: number;
  written: number;
  skipped: number;
  first_seq: number | null;
  last_seq: number | null;
  max_latency_seconds: number | null;
}

/** A dead letter. */
export interface DeadLetter {
  seq: number;
  msg_id: string;
  pipeline: string;
  stage: string;
  name: string;
  error: { code: string | null; message: string | null; location: unknown };
  record: unknown;
  original: unknown;
  replay_subject: string | null;
  attempts: number | null;
  ingested_at: string | null;
  failed_at: string | null;
  status: 'open' | 'replayed' | 'discarded';
  status_at: string | null;
}

/** A row of the DLQ audit trail. */
export interface DlqAction {
  id: number;
  at: string;
  action: 'replay' | 'discard';
  actor: string;
  remote_addr: string | null;
  selection: unknown;
  requested: number;
  done: number;
  skipped: number;
  failed: number;
  note: string | null;
}

/** The outcome of a DLQ action. */
export interface ActionResult {
  action_id: number;
  action: 'replay' | 'discard';
  requested: number;
  done: number;
  skipped: number;
  failed: number;
  errors: { seq: number; message: string }[];
}

/** A recorded alert transition. */
export interface AlertEvent {
  id: number;
  at: string;
  alert: string;
  status: 'firing' | 'resolved';
  severity: string;
  labels: Record<string, string>;
  summary: string;
  value: number | null;
  starts_at: string;
}

/** The latest result of a data-quality check. */
export interface CheckResult {
  check: string;
  table: string | null;
  kind: string;
  severity: string;
  status: string;
  failing_rows: number;
  error: string | null;
  checked_at: string;
}
