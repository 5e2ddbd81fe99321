/**
 * @tributary/core: the pipeline spec, wire contract, publish/consume loops, errors, config,
 * logging, telemetry and metrics shared by every service.
 */
export * from './errors';
export * from './env-config';
export * from './logger';
export * from './telemetry';
export * from './metrics';
export * from './json-schema';
export * from './run-service';
export * from './migrate';
export * from './codec/ndjson';
export * from './http/service-app';
export * from './nats/subjects';
export * from './nats/headers';
export * from './nats/connect';
export * from './nats/publisher';
export * from './nats/topology';
export * from './nats/batch-consumer';
export * from './nats/dead-letter';
export * from './nats/kv-lease';
export * from './nats/heartbeat';
export * from './spec/common';
export * from './spec/sources';
export * from './spec/connections';
export * from './spec/steps';
export * from './spec/window';
export * from './spec/derived-spec';
export * from './spec/tables';
export * from './spec/dimensional-tables';
export * from './spec/pipeline-spec';
export * from './spec/pipeline';
export * from './spec/load-pipeline';
export * from './warehouse/sql';
export * from './warehouse/bookkeeping';
export * from './warehouse/table-ddl';
export * from './warehouse/table-layout';
export * from './warehouse/calendar';
export * from './warehouse/ensure-warehouse';
export * from './warehouse/warehouse-spec';
export * from './warehouse/models/model-spec';
export * from './warehouse/models/model-runner';
export * from './warehouse/checks/check-spec';
export * from './warehouse/checks/expand-checks';
export * from './warehouse/checks/check-runner';
export * from './warehouse/checks/check-command';
