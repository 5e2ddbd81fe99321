/**
 * @tributary/contract/spec: the pipeline spec: its zod shapes (one file per step, source and mode kind), loading and cross-checks.
 */
export { ARCHIVE_STAGES, archiveSpec, checkArchiveReferences, type ArchiveStage, type ArchiveSpec } from './archive-spec';
export { checkEntrySpec, checksSpec, type CheckEntry, type CheckKind, type Check } from './check-spec';
export {
  identifier,
  parseDuration,
  duration,
  rate,
  FIELD_TYPES,
  fieldType,
  DEFAULT_DECIMAL_PRECISION,
  DEFAULT_DECIMAL_SCALE,
  fieldSpec,
  normaliseFields,
  pgColumnType,
  jsonataExpression,
  schemaRef,
  qualifiedTable,
  sourceColumn,
  sourceTimeField,
  type FieldType,
  type FieldDef,
} from './common';
export {
  secretRef,
  resolveSecret,
  httpAuthSpec,
  httpConnectionSpec,
  postgresConnectionSpec,
  s3ConnectionSpec,
  clickhouseConnectionSpec,
  connectionSpec,
  type ConnectionSpec,
} from './connections';
export {
  DRIFT_POLICIES,
  DEFAULT_DRIFT_POLICY,
  DRIFT_EVENT,
  EVOLVE_MODES,
  driftPolicy,
  driftAction,
  jsonTypeOf,
  inferFieldType,
  evolvedColumnType,
  checkDriftReferences,
  type DriftPolicy,
  type DriftKind,
  type DriftAction,
  type DriftEvent,
} from './drift';
export { checkStreamSteps, derivedFieldNames, derivedFields } from './derived-spec';
export { fileSchemaRef, fileFormatSpec, csvOptionsSpec, fileCommon } from './file-format';
export { generatedDimensionSpec, generatedDimensionsSpec, type GeneratedDimension } from './generated-dimensions';
export { formatProblems, parsePipelineSpec, loadPipelineFile, listPipelineFiles, loadPipelines, type SpecProblem } from './load-pipeline';
export {
  parsePipelineTestFile,
  listPipelineTestFiles,
  loadPipelineTestFiles,
  pipelineTestFileSpec,
  type ExpectedDeadLetter,
  type PipelineTestCase,
  type PipelineTestFile,
} from './pipeline-tests';
export { sensitiveFields, maskFields, MASKED } from './sensitive-fields';
export { lookupsSpec } from './lookups';
export { modelSpec, modelsSpec, refsOf, renderModelSql, orderModels, downstreamOf, type ModelSpec, type Model } from './model-spec';
export { accumulateRule, accumulatingSpec } from './modes/accumulating';
export { aggregateModeSpec } from './modes/aggregate';
export { appendModeSpec } from './modes/append';
export { MODE_SPECS, tableSpec, type LoadMode, type TableSpec } from './modes/registry';
export { scd2Spec } from './modes/scd2';
export { upsertModeSpec } from './modes/upsert';
export { datasetSpec, pipelineSpecSchema, checkReferences, type PipelineSpec, type DatasetSpec } from './pipeline-spec';
export {
  consumersOf,
  tablesOf,
  findPipeline,
  datasetOf,
  sinkOf,
  clickhouseConnectionOf,
  inPostgres,
  sinkKindOf,
  type Dataset,
  type Table,
  type Pipeline,
} from './pipeline';
export { windowOf, datasetFields, resolveTable } from './resolve-datasets';
export { resolveModels, type LoadedModel } from './resolve-models';
export { pullScheduleSpec, type PullScheduleSpec } from './schedule';
export { SINK_MODES, CLICKHOUSE_MODES } from './sink-modes';
export { checkSinkReferences } from './sink-references';
export { fileSourceSpec } from './sources/file';
export { GENERATOR_DEFAULT_DURATION_MS, generatorSourceSpec } from './sources/generator';
export { objectStoreSourceSpec } from './sources/object-store';
export { postgresCdcSourceSpec, cdcSlotName } from './sources/postgres-cdc';
export { postgresPollSourceSpec } from './sources/postgres-poll';
export { pushSourceSpec } from './sources/push';
export { SOURCE_SPECS, sourceSpec, type SourceSpec } from './sources/registry';
export {
  restRequestSpec,
  restPaginationSpec,
  restIncrementalSpec,
  restParentsSpec,
  restRetrySpec,
  restSourceSpec,
  type RestSourceSpec,
} from './sources/rest';
export type { ReferenceProblem } from './spec-problem';
export { castStepSpec } from './steps/cast';
export { codeStepSpec } from './steps/code';
export { dedupeStepSpec } from './steps/dedupe';
export { dropStepSpec } from './steps/drop';
export { emitStepSpec } from './steps/emit';
export { enrichStepSpec } from './steps/enrich';
export { filterStepSpec } from './steps/filter';
export { joinStepSpec, type JoinConfig } from './steps/join';
export { mapStepSpec } from './steps/map';
export { MODEL_NUMERIC_TYPES, modelStepSpec, outputOf, inputFields, checkModelMapping, type ModelConfig } from './steps/model';
export { STEP_SPECS, stepSpec, normaliseStep, type StepKind, type StepSpec } from './steps/registry';
export { renameStepSpec } from './steps/rename';
export { routeStepSpec } from './steps/route';
export { sessionStepSpec, SESSION_COLUMNS, sessionFields, type SessionConfig } from './steps/session';
export { slidingStepSpec, type SlidingConfig } from './steps/sliding';
export { schemaKind, validateStepSpec } from './steps/validate';
export {
  aggregateExpr,
  flagExpr,
  windowStepSpec,
  AGGREGATED_HEADER,
  WINDOW_COLUMNS,
  windowShape,
  windowStarts,
  avgParts,
  windowMergePlan,
  aggregateType,
  windowFields,
  MAX_DECIMAL_PRECISION,
  evaluateFlag,
  type AggregateFn,
  type AggregateDef,
  type FlagTerm,
  type WindowConfig,
  type WindowMerge,
} from './steps/window';
export { checkTableStorage } from './storage-spec';
export { tableBase, tableStorage } from './table-base';
export { SCD2_COLUMNS, SCD2_ADDABLE_COLUMNS, VALUE_ORDER_COLUMN } from './table-columns';
export { surrogateKeyOf, scd2Layout, lookupColumns, type TableOf, type Scd2Layout, type LookupColumn } from './table-layout';
export { tableSinkSpec, postgresSinkSpec, SINK_SPECS, type TableSink, type SinkKind, type ClickHouseConnection } from './table-sink';
export {
  PARTITION_SUFFIX_LENGTH,
  PARTITION_INTERVALS,
  INDEX_METHODS,
  partitionSpec,
  SYSTEM_COLUMNS,
  indexSpec,
  indexOptions,
  partitionOptions,
  type PartitionInterval,
  type IndexMethod,
  type TableStorage,
} from './table-storage';
export { resnapshotTargets, sourceTableName, type ResnapshotTarget } from './resnapshot-targets';
export { checkWarehouseReferences, resolveWarehouse, type WarehouseProblem, type WarehouseSections } from './warehouse-spec';
