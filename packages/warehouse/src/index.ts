/**
 * @tributary/warehouse: PostgreSQL and ClickHouse DDL, the bookkeeping tables, database roles, models and checks.
 */
export { BOOKKEEPING_DDL } from './bookkeeping';
export { generatedDimensionSql, ensureGeneratedDimensions } from './calendar';
export { checkCommand, modelsCommand } from './checks/check-command';
export { gateFails, runChecks, type CheckResult } from './checks/check-runner';
export { expandChecks } from './checks/expand-checks';
export {
  CLICKHOUSE_COLUMN_EXISTS,
  CLICKHOUSE_TABLE_EXISTS,
  CLICKHOUSE_UNKNOWN_TABLE,
  chIdent,
  chString,
  ClickHouseClient,
  clickhouseCodeOf,
  type ClickHouseClientOptions,
} from './clickhouse/clickhouse-client';
export {
  CLICKHOUSE_TYPES,
  CLICKHOUSE_META_COLUMNS,
  chTable,
  clickhouseLayout,
  type ClickHouseColumn,
  type ClickHouseLayout,
} from './clickhouse/clickhouse-layout';
export {
  clickhouseTarget,
  clickhouseSchemaProblems,
  ensureClickHouseTable,
  migrateClickHouseTable,
  type ClickHouseTarget,
} from './clickhouse/ensure-clickhouse-table';
export {
  DATABASE_ROLES,
  BOOKKEEPING_ACCESS,
  tableNeeds,
  roleGrants,
  ensureDatabaseRoles,
  type TablePrivilege,
  type TableNeeds,
} from './database-roles';
export {
  DECLARED_INDEX_COMMENT,
  declaredIndexName,
  declaredIndexes,
  declaredIndexDdl,
  syncDeclaredIndexes,
  type DeclaredIndex,
} from './declared-indexes';
export { ensureWarehouse, type WarehouseMigration } from './ensure-warehouse';
export { guardClient } from './guard-client';
export { runModel, runModels, type ModelRun } from './models/model-runner';
export {
  partitionLayout,
  intervalStart,
  nextStart,
  isoDay,
  parseIsoDay,
  partitionName,
  defaultPartitionName,
  partitionStartOf,
  bucketsSql,
  beforeSql,
  partitionMarker,
  partitionClause,
  partitionSetupDdl,
  premakeStarts,
  expired,
  listPartitions,
  PARTITION_LOCK_SQL,
  ensurePartitions,
  partitionProblems,
  type PartitionLayout,
  type CreatedPartition,
} from './partitions';
export { sqlState, isDataError } from './pg-error-kind';
export { WAREHOUSE_SCHEMA, TRIBUTARY_SCHEMA, ident, warehouseTable } from './sql';
export { tableAccessProblems, assertTableAccess, type TableAccessProblems } from './table-access';
export { META_COLUMNS, tableColumns, tableIndexes, tableDdl, schemaProblems, ensureTable, type ColumnDef } from './table-ddl';
export { checkReportColumns, warehouseCatalogue } from './report-columns';
