/**
 * @tributary/warehouse: PostgreSQL and ClickHouse DDL, the bookkeeping tables, database roles, models and checks.
 */
export * from './bookkeeping';
export * from './calendar';
export * from './checks';
export * from './clickhouse';
export * from './database-roles';
export * from './declared-indexes';
export * from './ensure-warehouse';
export * from './guard-client';
export * from './models';
export * from './partitions';
export * from './pg-error-kind';
export * from './report-columns';
export * from './sql';
export * from './table-access';
export * from './table-ddl';
