/**
 * @tributary/contract: what every part of Tributary agrees on — the error catalogue, NATS subjects and headers,
 * message IDs, the NDJSON codec, record schemas and the pipeline spec. Pure: no connections, no I/O libraries.
 */
export { NDJSON, encodeNdjson, encodeLine, decodeNdjson, type Rec } from './codec/ndjson';
export { ERROR_CODES, TributaryError, isTributaryError, isRetryable, toTributaryError, type ErrorCode, type ErrorLocation } from './errors';
export { compileRecordSchema, type RecordValidator } from './schema/json-schema';
export { decodeAvroContainer } from './schema/avro-container';
export { isExactDouble, exactNumber, parseJsonExact, decimalText, int64Value } from './schema/exact-values';
export { ONNX_ELEMENT_TYPES, onnxSignature, modelIdentity, type OnnxTensorInfo, type OnnxSignature } from './schema/onnx-signature';
export { decodeProtobufDelimited } from './schema/protobuf-delimited';
export {
  schemaKindOf,
  parseSchemaText,
  compileSchema,
  AVRO_LOGICAL_TYPES,
  avroType,
  plainAvro,
  protobufType,
  plainProtobuf,
  type SchemaKind,
  type SchemaProblem,
  type RecordSchema,
} from './schema/record-schema';
export { daysInMonth, validDate, isCanonicalTimestamp, parseIsoTimestamp } from './schema/timestamps';
export { ARCHIVE_STAGES, archiveSpec, checkArchiveReferences, type ArchiveStage, type ArchiveSpec } from './spec/archive-spec';
export { checkEntrySpec, checksSpec, type CheckEntry, type CheckKind, type Check } from './spec/check-spec';
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
} from './spec/common';
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
} from './spec/connections';
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
} from './spec/drift';
export { checkStreamSteps, derivedFieldNames, derivedFields } from './spec/derived-spec';
export { fileSchemaRef, fileFormatSpec, csvOptionsSpec, fileCommon } from './spec/file-format';
export { generatedDimensionSpec, generatedDimensionsSpec, type GeneratedDimension } from './spec/generated-dimensions';
export {
  formatProblems,
  parsePipelineSpec,
  loadPipelineFile,
  listPipelineFiles,
  loadPipelines,
  type SpecProblem,
} from './spec/load-pipeline';
export {
  parsePipelineTestFile,
  listPipelineTestFiles,
  loadPipelineTestFiles,
  pipelineTestFileSpec,
  type ExpectedDeadLetter,
  type PipelineTestCase,
  type PipelineTestFile,
} from './spec/pipeline-tests';
export { sensitiveFields, maskFields, MASKED } from './spec/sensitive-fields';
export { lookupsSpec } from './spec/lookups';
export { modelSpec, modelsSpec, refsOf, renderModelSql, orderModels, downstreamOf, type ModelSpec, type Model } from './spec/model-spec';
export { accumulateRule, accumulatingSpec } from './spec/modes/accumulating';
export { aggregateModeSpec } from './spec/modes/aggregate';
export { appendModeSpec } from './spec/modes/append';
export { MODE_SPECS, tableSpec, type LoadMode, type TableSpec } from './spec/modes/registry';
export { scd2Spec } from './spec/modes/scd2';
export { upsertModeSpec } from './spec/modes/upsert';
export { datasetSpec, pipelineSpecSchema, checkReferences, type PipelineSpec, type DatasetSpec } from './spec/pipeline-spec';
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
} from './spec/pipeline';
export { windowOf, datasetFields, resolveTable } from './spec/resolve-datasets';
export { resolveModels, type LoadedModel } from './spec/resolve-models';
export { pullScheduleSpec, type PullScheduleSpec } from './spec/schedule';
export { SINK_MODES, CLICKHOUSE_MODES } from './spec/sink-modes';
export { checkSinkReferences } from './spec/sink-references';
export { fileSourceSpec } from './spec/sources/file';
export { GENERATOR_DEFAULT_DURATION_MS, generatorSourceSpec } from './spec/sources/generator';
export { objectStoreSourceSpec } from './spec/sources/object-store';
export { postgresCdcSourceSpec, cdcSlotName } from './spec/sources/postgres-cdc';
export { postgresPollSourceSpec } from './spec/sources/postgres-poll';
export { pushSourceSpec } from './spec/sources/push';
export { SOURCE_SPECS, sourceSpec, type SourceSpec } from './spec/sources/registry';
export {
  restRequestSpec,
  restPaginationSpec,
  restIncrementalSpec,
  restParentsSpec,
  restRetrySpec,
  restSourceSpec,
  type RestSourceSpec,
} from './spec/sources/rest';
export type { ReferenceProblem } from './spec/spec-problem';
export { castStepSpec } from './spec/steps/cast';
export { codeStepSpec } from './spec/steps/code';
export { dedupeStepSpec } from './spec/steps/dedupe';
export { dropStepSpec } from './spec/steps/drop';
export { emitStepSpec } from './spec/steps/emit';
export { enrichStepSpec } from './spec/steps/enrich';
export { filterStepSpec } from './spec/steps/filter';
export { joinStepSpec, type JoinConfig } from './spec/steps/join';
export { mapStepSpec } from './spec/steps/map';
export { MODEL_NUMERIC_TYPES, modelStepSpec, outputOf, inputFields, checkModelMapping, type ModelConfig } from './spec/steps/model';
export { STEP_SPECS, stepSpec, normaliseStep, type StepKind, type StepSpec } from './spec/steps/registry';
export { renameStepSpec } from './spec/steps/rename';
export { routeStepSpec } from './spec/steps/route';
export { sessionStepSpec, SESSION_COLUMNS, sessionFields, type SessionConfig } from './spec/steps/session';
export { slidingStepSpec, type SlidingConfig } from './spec/steps/sliding';
export { schemaKind, validateStepSpec } from './spec/steps/validate';
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
} from './spec/steps/window';
export { checkTableStorage } from './spec/storage-spec';
export { tableBase, tableStorage } from './spec/table-base';
export { SCD2_COLUMNS, SCD2_ADDABLE_COLUMNS, VALUE_ORDER_COLUMN } from './spec/table-columns';
export { surrogateKeyOf, scd2Layout, lookupColumns, type TableOf, type Scd2Layout, type LookupColumn } from './spec/table-layout';
export { tableSinkSpec, postgresSinkSpec, SINK_SPECS, type TableSink, type SinkKind, type ClickHouseConnection } from './spec/table-sink';
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
} from './spec/table-storage';
export { checkWarehouseReferences, resolveWarehouse, type WarehouseProblem, type WarehouseSections } from './spec/warehouse-spec';
export { H, makeHeaders, header, numberHeader, type Headers } from './wire/headers';
export { STREAMS, subjects, subjectTokens, consumers, BUCKETS, type Stage } from './wire/subjects';
export { checkReports, formatReportProblems } from './reports/check-reports';
export { parseReport, type KnownRelations } from './reports/parse-report';
export { knownRelations, watchedTables, type WatchedTable } from './reports/report-relations';
export { reportsDir } from './reports/reports-dir';
export {
  COMPONENT_SPECS,
  DATE_EXPRESSION,
  INPUT_SPECS,
  frontMatterSchema,
  type ComponentKind,
  type ComponentOptions,
  type FrontMatter,
  type InputKind,
  type InputSpec,
  type Report,
  type ReportBlock,
  type ReportComponent,
  type ReportProblem,
  type ReportQuery,
} from './reports/report-spec';
export { bindSql, scanSql, type BoundSql, type InputRef, type SqlScan } from './reports/sql-inputs';
export { toSourceTime, sourceTimeFromMicros, sourceTimeFromMs, oldestSourceTime, sourceTimeMs, sourceTimeHeader } from './wire/source-time';
export { compileExpression, distanceKm, LIMITS as EXPRESSION_LIMITS, type Expression } from './expressions/expression';
export { hmacSha256Hex } from './expressions/keyed-hash';
export { previewOutcome, type PreviewRequest, type PreviewError, type PreviewResult, type PreviewReply } from './wire/preview';
