/**
 * @tributary/runtime: what a running service is made of — logging, telemetry, metrics, env config, the HTTP
 * server, runService, and the NATS connection, publisher, consumer loop, leases and topology.
 */
export * from './env-config';
export * from './http';
export * from './logger';
export * from './metrics';
export * from './nats';
export * from './periodic-task';
export * from './run-service';
export * from './shutdown';
export * from './telemetry';
