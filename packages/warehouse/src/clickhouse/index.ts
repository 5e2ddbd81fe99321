/**
 * @tributary/warehouse/clickhouse: the ClickHouse client, table layout and DDL.
 */
export {
  CLICKHOUSE_COLUMN_EXISTS,
  CLICKHOUSE_TABLE_EXISTS,
  CLICKHOUSE_UNKNOWN_TABLE,
  chIdent,
  chString,
  ClickHouseClient,
  clickhouseCodeOf,
  type ClickHouseClientOptions,
} from './clickhouse-client';
export {
  CLICKHOUSE_TYPES,
  CLICKHOUSE_META_COLUMNS,
  chTable,
  clickhouseLayout,
  type ClickHouseColumn,
  type ClickHouseLayout,
} from './clickhouse-layout';
export {
  clickhouseTarget,
  clickhouseSchemaProblems,
  ensureClickHouseTable,
  migrateClickHouseTable,
  type ClickHouseTarget,
} from './ensure-clickhouse-table';
