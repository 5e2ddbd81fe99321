/**
 * @tributary/contract: what every part of Tributary agrees on — the error catalogue, NATS subjects and headers,
 * message IDs, the NDJSON codec, record schemas and the pipeline spec. Pure: no connections, no I/O libraries.
 */
export * from './codec';
export * from './errors';
export * from './expressions';
export * from './monitor-api';
export * from './reports';
export * from './schema';
export * from './spec';
export * from './wire';
