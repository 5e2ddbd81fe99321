/**
 * The names the dashboard pages use for the monitor's API shapes. The shapes themselves are the
 * server's (`api-types.ts`, a generated copy of services/monitor/src/api/api-types.ts), so a field
 * the server adds or renames shows up here at compile time.
 */
export type {
  ActionResult,
  ActiveAlert,
  AlertEvent,
  CheckResult,
  ClusterStatus,
  ConsumerLag,
  DeadLetterView as DeadLetter,
  DeadLetterHints,
  DeadLetterGroups,
  DlqAction,
  DriftView,
  ErrorGroup,
  Overview,
  PipelineOverview,
  PipelineRates as Rates,
  PipelineSeries as Series,
  PipelineTopology as Topology,
  PreviewAnswer,
  PreviewRecordView,
  RecentLoad,
  RecordHints,
  ReplayOutcome,
  ReplicaView as Replica,
  ServiceView as Service,
  SourceRunView,
} from './api-types.js';

/** What the tabs' shared live-feed worker (live-worker.ts) sends each tab. */
export type LiveMessage =
  { kind: 'open' } | { kind: 'overview'; data: string } | { kind: 'problem'; data: string } | { kind: 'error'; closed: boolean };
