/**
 * @tributary/runtime: what a running service is made of — logging, telemetry, metrics, env config, the HTTP
 * server, runService, and the NATS connection, publisher, consumer loop, leases and topology.
 */
export {
  readEnv,
  envDuration,
  envInt,
  envPort,
  DEFAULT_DATABASE_USER,
  withDatabaseUser,
  commonEnv,
  topologyEnv,
  topologyFromEnv,
} from './env-config';
export { HSTS, PERMISSIONS_POLICY, securityHeaders } from './http/security-headers';
export { createServiceApp, readHttpTls, listen, type ReadinessCheck, type Listener, type HttpTlsFiles } from './http/service-app';
export { createLogger, type Logger } from './logger';
export { createMetrics, type StageMetrics } from './metrics';
export { BatchConsumer, type BatchConsumerOptions } from './nats/batch-consumer';
export { natsAuthOptions, connectNats, connectTracked, type NatsAuth, type TrackedConnection } from './nats/connect';
export { publishDeadLetter, deadLetterMessage, type DeadLetter } from './nats/dead-letter';
export { failureClass, type FailureClass } from './nats/failure-class';
export {
  HEARTBEAT_SUBJECT_PREFIX,
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  heartbeatSubject,
  startHeartbeat,
  type HeartbeatBeat,
  type HeartbeatOptions,
  type Heartbeat,
} from './nats/heartbeat';
export { KvLease } from './nats/kv-lease';
export { Publisher, type PublishOptions } from './nats/publisher';
export {
  scheduleKey,
  cursorKey,
  leaseKey,
  pauseKey,
  readScheduleState,
  readSourcePause,
  setSourcePause,
  type SourceLastRun,
  type SourceScheduleState,
  type SourcePause,
} from './nats/source-state';
export { topologyStreams, checkReplicasPossible, replicaError, ensureReplicas } from './nats/stream-replicas';
export {
  parseByteSize,
  STREAM_SHARES,
  streamCaps,
  readServerStorage,
  checkStorage,
  formatBytes,
  type ServerStorage,
  type StreamCapOptions,
} from './nats/storage-budget';
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
} from './nats/topology';
export { PeriodicTask, type PeriodicTaskOptions } from './periodic-task';
export { runService, superviseService, type ServiceApp, type ServiceDefinition, type Stoppable } from './run-service';
export { startTelemetry, contextFromHeaders, inSpan } from './telemetry';
