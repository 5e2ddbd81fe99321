/**
 * @tributary/runtime/nats: NATS connection, Publisher, BatchConsumer, dead letters, KV leases, heartbeats and topology.
 */
export { BatchConsumer, type BatchConsumerOptions } from './batch-consumer';
export { natsAuthOptions, connectNats, connectTracked, type NatsAuth, type TrackedConnection } from './connect';
export { publishDeadLetter, deadLetterMessage, validationError, type DeadLetter } from './dead-letter';
export { failureClass, type FailureClass } from './failure-class';
export {
  HEARTBEAT_SUBJECT_PREFIX,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  heartbeatSubject,
  startHeartbeat,
  type HeartbeatBeat,
  type HeartbeatOptions,
  type Heartbeat,
} from './heartbeat';
export { KvLease } from './kv-lease';
export {
  pipelinePauseKey,
  readPipelinePause,
  setPipelinePause,
  describePause,
  type PipelinePause,
  type BreakerTrip,
} from './pipeline-pause';
export { Publisher, type PublishOptions } from './publisher';
export {
  scheduleKey,
  cursorKey,
  leaseKey,
  pauseKey,
  readScheduleState,
  readSourcePause,
  setSourcePause,
  readResnapshot,
  RESNAPSHOT_SUB,
  type SourceResnapshot,
  type SourceLastRun,
  type SourceScheduleState,
  type SourcePause,
} from './source-state';
export { topologyStreams, checkReplicasPossible, replicaError, ensureReplicas } from './stream-replicas';
export {
  parseByteSize,
  STREAM_SHARES,
  streamCaps,
  readServerStorage,
  checkStorage,
  formatBytes,
  type ServerStorage,
  type StreamCapOptions,
} from './storage-budget';
export {
  DEFAULT_TOPOLOGY,
  ensureStreams,
  pipelineConsumers,
  archiverConsumers,
  monitorConsumers,
  ensureConsumers,
  ensureBuckets,
  checkTopology,
  type TopologyOptions,
} from './topology';
