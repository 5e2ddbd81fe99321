/**
 * @tributary/contract/monitor-api: the shapes of the monitor's JSON API, the one definition the
 * monitor builds its answers with and its readers read them by: the `tributary` CLI imports them,
 * and the dashboard (`services/monitor/web/`, a browser build of its own) compiles a generated
 * copy of this file, so it has no imports: `npm run docs:generate` writes
 * `services/monitor/web/src/api-types.ts`, and `tests/docs/monitor-api-types.test.ts` fails when
 * the copy differs. Change the API here; the monitor's modules re-export these names where they
 * build them.
 *
 * Longer than 300 lines because the whole API as one set of types, so the monitor, the CLI and
 * the dashboard share one definition.
 */

/** The lag of one durable consumer; nulls (and `error`) when NATS could not answer. */
export interface ConsumerLag {
  pending: number | null;
  ack_pending: number | null;
  redelivered: number | null;
  error?: string;
}

/** Lag of a pipeline's stages. */
export interface StageLag {
  transformer: ConsumerLag;
  loader: ConsumerLag;
}

/** Counts of one source. */
export interface SourceCounts {
  accepted: number;
  rejected: number;
  /** Records replayed from the DLQ into this source's subject (not counted in `accepted`). */
  replayed: number;
}

/** Counts of one dataset. */
export interface DatasetCounts {
  records: number;
  filtered: number;
  dead_lettered: number;
}

/** Counts of one warehouse table. */
export interface TableCounts {
  /** Records loaded into the table: `inserted + updated + unchanged + skipped` (docs/warehouse.md, Load counts). */
  loaded: number;
  /** `inserted + updated`. */
  written: number;
  /** Records that created a row (one per row created). */
  inserted: number;
  /** Records that changed a row (rewritten). */
  updated: number;
  /** Records whose row already held their values (not rewritten). */
  unchanged: number;
  /** Records that did nothing to the table. Ledger rows from before the four counts count only here and in `loaded`, `written`. */
  skipped: number;
  dead_lettered: number;
  /** Newest ingest time among the rows loaded: how old a report tile reading this table is. */
  newest_ingested_at: string | null;
  /** When the last load committed (live report tiles re-run when it changes). */
  last_loaded_at: string | null;
  /** Newest source time loaded into the table (docs/design.md, Wire contract, Source time); null when none had one. */
  newest_source_time: string | null;
  /** Now minus `newest_source_time`, in seconds; null when no source time was loaded. */
  source_freshness_seconds: number | null;
}

/** Dead-lettered records by stage. */
export interface DeadLetteredCounts {
  ingest: number;
  transform: number;
  load: number;
  total: number;
}

/** Replication-slot lag of one `postgres_cdc` source, read from the source database. */
export interface SlotLag {
  source: string;
  slot: string;
  /** Null when the slot could not be read (see `error`). */
  lag_bytes: number | null;
  lag_seconds: number | null;
  /** A walsender streams from the slot now. */
  active: boolean | null;
  error?: string;
}

/**
 * How far a `postgres_cdc` source's transactions are in the warehouse (docs/design.md, Source
 * transactions): each source transaction becomes visible whole, in one commit.
 */
export interface SourceConsistency {
  source: string;
  /**
   * Commit LSN of the newest change batch loaded with no older batch still waiting for some of its
   * messages: every source transaction up to it is in the warehouse, each whole. Null before the first.
   */
  lsn: string | null;
  /** Commit time of that batch's newest transaction (canonical, microseconds). */
  commit_time: string | null;
  /** Change batches some of whose messages reached the loader, waiting for the rest. */
  waiting_batches: number;
  /** Seconds the oldest of them has waited (null when none waits). */
  oldest_waiting_seconds: number | null;
}

/** One pull source's runs, as `GET /api/pipelines/<name>` shows them under `source_runs`. */
export interface SourceRunView {
  source: string;
  kind: string;
  /** `ok`, `partial` (left records unread), `failing`, `overdue`, `paused`, or `pending` before the first run. */
  status: 'ok' | 'partial' | 'failing' | 'overdue' | 'paused' | 'pending';
  paused: { at: string; by: string; reason?: string } | null;
  last: {
    outcome: 'ok' | 'partial' | 'failed';
    started_at: string | null;
    finished_at: string;
    pages: number | null;
    records: number | null;
    error: string | null;
  } | null;
  /** When the next run is due (a failed run's retry, else the schedule); null for continuous sources. */
  next_run_at: string | null;
  consecutive_failures: number;
  last_success_at: string | null;
  /** Seconds since the last whole success (or since the scheduler first saw the source). */
  since_success_seconds: number | null;
  /** The source alerts as overdue past this many seconds without a success (period plus slack). */
  success_deadline_seconds: number | null;
  /** Nothing read for longer than the SLA plus the period: the pipeline is not fresh. */
  stale: boolean;
  /** The last `tributary sources resnapshot` of a `postgres_cdc` source (whatever its state); absent or null when none. */
  resnapshot?: SourceResnapshotView | null;
}

/** A `tributary sources resnapshot` request and how far it got. */
export interface SourceResnapshotView {
  /** `schema.table` on the source. */
  table: string;
  /** The predicate selecting the rows re-read; null: every row. */
  where: string | null;
  /** `requested` (waiting for the source), `running` (reading, or published and waiting for the stream to pass its LSN), `done`, `failed`. */
  state: 'requested' | 'running' | 'done' | 'failed';
  requested_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** The LSN the re-read was taken at (its rows' `_lsn`). */
  lsn: string | null;
  /** Rows published. */
  rows: number | null;
  attempts: number;
  error: string | null;
}

/** Status of one pipeline (`GET /api/pipelines`, `GET /api/pipelines/<name>`). */
/** A paused pipeline (key `pause.<pipeline>` in KV): its transformers take none of its records until resumed. */
export interface PipelinePauseView {
  at: string;
  /** An operator, or `circuit breaker`. */
  by: string;
  reason?: string;
  /** When the circuit breaker paused it: the failure rate it measured (records within `window_seconds`). */
  breaker?: { failed: number; records: number; threshold: number; window_seconds: number; code?: string; sample?: string };
  /** In words: "paused by circuit breaker: 412 of 500 records failed in 60s (82% > 50%), mostly TRIB_E_STEP: ..." */
  summary: string;
}

export interface PipelineStatus {
  name: string;
  /** Set while the pipeline is paused (by an operator or its circuit breaker); null while it runs. */
  paused?: PipelinePauseView | null;
  sla: { freshness_seconds: number };
  /** Newest ingest time accepted minus newest ingest time loaded, in seconds (docs/design.md, Services, ports, shapes). */
  freshness_seconds: number;
  /**
   * Now minus the newest source time loaded into any of its tables, in seconds (docs/design.md,
   * Wire contract, Source time): grows when the source, the ingest or the loader stops. Null when
   * no source time was loaded (sources without a time of their own). 0 for a pipeline whose
   * sources are all `postgres_cdc` while it has loaded everything they committed (every slot
   * current within the SLA): a quiet source database is not a stale warehouse.
   */
  source_freshness_seconds: number | null;
  /** The newest source time loaded into any of its tables. */
  newest_source_time: string | null;
  fresh: boolean;
  /** accepted + rejected. */
  received: number;
  accepted: number;
  rejected: number;
  /** Records the DLQ console replayed (docs/design.md, Counting invariant): accepted + replayed = loaded + filtered + dead-lettered (transform + load). */
  replayed: number;
  sources: Record<string, SourceCounts>;
  datasets: Record<string, DatasetCounts>;
  tables: Record<string, TableCounts>;
  dead_lettered: DeadLetteredCounts;
  filtered: number;
  lag: StageLag;
  last_loaded_at: string | null;
  /** Replication-slot lag of each `postgres_cdc` source, read from the source database (none: no CDC source). */
  source_slots?: SlotLag[];
  /** Per `postgres_cdc` source, the source position the warehouse is consistent as of (none: no CDC source). */
  source_consistency?: SourceConsistency[];
  /** The pull sources' runs (set by the status snapshot, which reads them from KV). */
  source_runs?: SourceRunView[];
  /** Pull sources that read nothing for longer than the SLA (plus their period): the pipeline is then not fresh. */
  stale_sources?: string[];
  /** Schema drift per dataset, field and kind, newest first (docs/transforms.md, Schema drift); empty when none. */
  drift: DriftView[];
}

/** Schema drift of one (dataset, field, kind), folded from the drift events on `trib.events.<pipeline>.drift`. */
export interface DriftView {
  dataset: string;
  source: string;
  field: string;
  /** `new`, `missing` or `type_changed`. */
  kind: string;
  /** The declared type (`missing`, `type_changed`). */
  expected: string | null;
  /** The JSON type seen, or `missing`. */
  seen: string;
  /** The `on_drift` policy applied, and what it did (dead_lettered, value_dropped, row_dropped, column_added). */
  policy: string;
  action: string;
  /** `evolve`: the column type the loader gives the field. */
  column_type: string | null;
  first_seen: string;
  last_seen: string;
  /** Records counted with it, over every event. */
  count: number;
  events: number;
  /** Seconds since the monitor folded its latest event (TributarySchemaDrift fires while it is within the alert window). */
  event_age_seconds: number;
  /** One record it happened to, as the transformer saw it. */
  sample: unknown;
}

/** Rates of one pipeline, records per second. */
export interface PipelineRates {
  accepted: number;
  loaded: number;
  dead_lettered: number;
  sources: Record<string, number>;
  datasets: Record<string, number>;
  tables: Record<string, number>;
}

/** The shape of a pipeline's flow. */
export interface PipelineTopology {
  description: string | null;
  sources: { name: string; kind: string }[];
  datasets: { name: string; from: string[] }[];
  tables: { name: string; from: string; mode: string }[];
}

/** One pipeline in the overview. */
export type PipelineOverview = PipelineStatus & { rates: PipelineRates; topology: PipelineTopology };

/** Health of one service replica. */
export type ServiceReplicaState = 'live' | 'not_ready' | 'missing' | 'stopped';

/** A service replica as the API and dashboard show it. */
export interface ReplicaView {
  service: string;
  instance: string;
  host: string;
  pid: number;
  state: ServiceReplicaState;
  started_at: string;
  last_seen: string;
  /** Seconds since the last beat. */
  age_seconds: number;
  rss_bytes: number;
  not_ready?: string;
}

/** Replicas of one service. */
export interface ServiceView {
  service: string;
  /** Live (including not ready) replicas. */
  live: number;
  replicas: ReplicaView[];
}

/** Severity of an alert. */
export type Severity = 'critical' | 'warning';

/** An alert pending or firing. */
export interface ActiveAlert {
  fingerprint: string;
  alert: string;
  labels: Record<string, string>;
  severity: Severity;
  summary: string;
  value: number;
  state: 'pending' | 'firing';
  /** When the condition started holding (pending) and when it fired (epoch ms). */
  activeSince: number;
  firedAt?: number;
}

/** One configured NATS server. */
export interface ClusterServer {
  /** `host:port` (credentials never shown). */
  address: string;
  reachable: boolean;
  name: string | null;
  version: string | null;
  cluster: string | null;
  error?: string;
}

/** State of one replica of a stream. */
export type StreamReplicaState = 'current' | 'lagging' | 'offline';

/** One replica (peer) of a stream. */
export interface StreamPeer {
  name: string;
  leader: boolean;
  state: StreamReplicaState;
  /** Operations behind the leader (0 when current). */
  lag: number;
  /** Seconds since the leader last heard from it (null for the leader). */
  last_seen_seconds: number | null;
}

/** The replicas of one stream. */
export interface StreamReplicas {
  stream: string;
  /** Configured replicas (`num_replicas`). */
  replicas: number;
  leader: string | null;
  current: number;
  lagging: number;
  offline: number;
  peers: StreamPeer[];
  /** Why stream info could not be read (no leader, NATS unreachable). */
  error?: string;
}

/** The NATS cluster at one moment (`GET /api/cluster`). */
export interface ClusterStatus {
  checked_at: string;
  /** True when a reachable server belongs to a cluster. */
  clustered: boolean;
  degraded: boolean;
  /** Why it is degraded, one line per problem. */
  reasons: string[];
  /** `server_name` of the JetStream meta leader; null when unknown or without a leader. */
  meta_leader: string | null;
  /** Whether monitoring endpoints were configured to read the meta leader from. */
  meta_leader_known: boolean;
  servers: ClusterServer[];
  streams: StreamReplicas[];
}

/** The overview (`GET /api/overview` and the live feed). */
export interface Overview {
  taken_at: string;
  pipelines: PipelineOverview[];
  monitor_lag: Record<string, ConsumerLag>;
  services: ServiceView[];
  alerts: ActiveAlert[];
  /** The NATS cluster: servers, meta leader, stream replicas, degraded or not. */
  cluster: ClusterStatus;
  /** Whether write actions (DLQ replay, discard) are enabled on this monitor. */
  admin: { enabled: boolean };
}

/** Time series of one pipeline, aligned on `t` (bucket starts, epoch seconds). */
export interface PipelineSeries {
  step_seconds: number;
  t: number[];
  /** Records per second in each bucket. */
  accepted: number[];
  loaded: number[];
  dead_lettered: { ingest: number[]; transform: number[]; load: number[] };
  /** Seconds from ingest to warehouse commit, per loaded message: median, 95th percentile, max (null: no load). */
  latency: { p50: (number | null)[]; p95: (number | null)[]; max: (number | null)[] };
}

/** Dead letters of one stage, name and error code. */
export interface ErrorGroup {
  stage: string;
  name: string;
  code: string | null;
  count: number;
  open: number;
  last_failed_at: string | null;
  example: string | null;
}

/** One loader flush into one table (rows of the ledger committed together). */
export interface RecentLoad {
  table: string;
  loaded_at: string;
  messages: number;
  records: number;
  written: number;
  skipped: number;
  first_seq: number | null;
  last_seq: number | null;
  /** Seconds from the oldest ingest time in the flush to its commit. */
  max_latency_seconds: number | null;
}

/** The latest result of one data-quality check. */
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

/** A dead letter as `GET /api/dlq` returns it. */
export interface DeadLetterView {
  seq: number;
  msg_id: string;
  pipeline: string;
  stage: string;
  name: string;
  /** `details`: every reason when there are several (each with its field; at most 20, the message says how many more). */
  error: { code: string | null; message: string | null; location: unknown; details?: { field?: string; message?: string }[] };
  record: unknown;
  original: unknown;
  replay_subject: string | null;
  attempts: number | null;
  ingested_at: string | null;
  failed_at: string | null;
  /** The source schema's fingerprint the record was checked against (`<kind>:<hex>`), when known. */
  schema_fingerprint: string | null;
  /** `open`, or the latest action taken on it. */
  status: 'open' | 'replayed' | 'discarded';
  status_at: string | null;
}

/** What an edited record must satisfy where it replays to: the source schema, or the dataset's fields. */
export interface RecordHints {
  /** A record bound for a raw subject: its source's schema as written (JSON Schema or Avro as JSON, Protobuf as text). */
  schema?: { ref: string; doc: unknown };
  /** A record bound for a processed subject: the dataset's declared fields. */
  fields?: { name: string; type: string; required: boolean }[];
}

/** `GET /api/dlq/<seq>/hints`: what a fix of the dead letter's record must satisfy. */
export interface DeadLetterHints {
  seq: number;
  hints: RecordHints;
}

/** The outcome of a DLQ action (replay, discard). */
export interface ActionResult {
  action_id: number;
  action: 'replay' | 'discard';
  requested: number;
  done: number;
  /** Already replayed or discarded (without `force`), or not found. */
  skipped: number;
  failed: number;
  errors: { seq: number; message: string }[];
  /** Replays with a wait: what became of each record replayed. */
  outcomes?: ReplayOutcome[];
}

/** What became of a replayed dead letter, as far as known when the replay's wait ended. */
export interface ReplayOutcome {
  seq: number;
  outcome: 'loaded' | 'filtered' | 'dead_lettered' | 'pending';
  /** Records loaded per table. */
  tables?: Record<string, number>;
  /** The dead letters it became. */
  dead_letters?: { seq: number; stage: string; code: string | null; message: string | null }[];
}

/** One group of dead letters (`GET /api/dlq/groups`). */
export interface DeadLetterGroup {
  /** The group's value of each dimension grouped by (pipeline, stage, name, code, field, schema). */
  key: Record<string, string | null>;
  count: number;
  first_seen: string | null;
  last_seen: string | null;
  /** The newest dead letter of the group, and its message. */
  sample_seq: number;
  sample_message: string | null;
  /** The filter selecting exactly this group (the request's filter with the group's key). */
  filter: Record<string, string>;
}

/** `GET /api/dlq/groups`: totals by status and the groups, largest first. */
export interface DeadLetterGroups {
  by: string[];
  totals: { open: number; replayed: number; discarded: number; all: number };
  groups: DeadLetterGroup[];
}

/** What a preview says of one dead letter (`POST /api/dlq/preview`). */
export interface PreviewRecordView {
  seq: number;
  pipeline: string;
  stage: string;
  name: string;
  /** The record as it would be replayed (fixed, when the fix changed it). */
  record: unknown;
  changed: boolean;
  /**
   * `load` into every table in `tables`; `filtered` by a step; `dead_letter` again (see `errors`);
   * `nothing`: no dataset reads it; `cannot_replay`: the fix failed on it or it has nowhere to go.
   */
  outcome: 'load' | 'filtered' | 'dead_letter' | 'nothing' | 'cannot_replay';
  /** Tables it would be loaded into, with the dataset feeding each and the row as projected. */
  tables: { table: string; dataset: string; row: Record<string, unknown> }[];
  /** Datasets whose steps would filter it out. */
  filtered: string[];
  errors: { stage: 'ingest' | 'transform' | 'load'; dataset?: string; code: string; message: string; field?: string }[];
  /** Records bound for a processed subject: checked against the pipeline, not against the database. */
  note?: string;
}

/** `POST /api/dlq/preview`: per dead letter, and how many of each outcome. */
export interface PreviewAnswer {
  records: PreviewRecordView[];
  summary: Record<string, number>;
  /** More dead letters matched than the preview's `limit`. */
  truncated: boolean;
}

/** A row of the DLQ audit trail (`GET /api/dlq/actions`). */
export interface DlqAction {
  id: number;
  at: string;
  action: 'replay' | 'discard';
  actor: string;
  remote_addr: string | null;
  selection: unknown;
  /** A replay's fix: `{ set }` or `{ expression }` as given, or `{ edited: [seq, ...] }`. */
  fix: unknown;
  requested: number;
  done: number;
  skipped: number;
  failed: number;
  note: string | null;
}

/** A recorded alert transition (`GET /api/alerts/history`). */
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
