/**
 * @tributary/contract: what every part of Tributary agrees on — the error catalogue, NATS subjects and headers,
 * message IDs, the NDJSON codec, record schemas and the pipeline spec. Pure: no connections, no I/O libraries.
 */
export { NDJSON, encodeNdjson, encodeLine, decodeNdjson, type Rec } from './codec/ndjson';
export { ERROR_CODES, TributaryError, isTributaryError, isRetryable, toTributaryError, type ErrorCode, type ErrorLocation } from './errors';
export { compileRecordSchema, type RecordValidator } from './json-schema';
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
export { daysInMonth, validDate, isCanonicalTimestamp } from './schema/timestamps';
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
export { checkStreamSteps, derivedFieldNames, derivedFields } from './spec/derived-spec';
export { lookupsSpec, scd2Spec, accumulateRule, accumulatingSpec } from './spec/dimensional-tables';
export { fileFormatSpec, csvOptionsSpec, fileSourceSpec, objectStoreSourceSpec } from './spec/file-sources';
export { generatedDimensionSpec, generatedDimensionsSpec, type GeneratedDimension } from './spec/generated-dimensions';
export {
  formatProblems,
  parsePipelineSpec,
  loadPipelineFile,
  listPipelineFiles,
  loadPipelines,
  type SpecProblem,
} from './spec/load-pipeline';
export { modelSpec, modelsSpec, refsOf, renderModelSql, orderModels, downstreamOf, type ModelSpec, type Model } from './spec/model-spec';
export { MODEL_NUMERIC_TYPES, modelStepSpec, outputOf, inputFields, checkModelMapping, type ModelConfig } from './spec/model-step';
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
export { cdcSlotName, qualifiedTable, postgresCdcSourceSpec, postgresPollSourceSpec } from './spec/postgres-sources';
export { windowOf, datasetFields, resolveTable } from './spec/resolve-datasets';
export { resolveModels, type LoadedModel } from './spec/resolve-models';
export {
  restRequestSpec,
  restPaginationSpec,
  restIncrementalSpec,
  restParentsSpec,
  restRetrySpec,
  restSourceSpec,
  type RestSourceSpec,
} from './spec/rest-source';
export { pullScheduleSpec, type PullScheduleSpec } from './spec/schedule';
export { SINK_MODES, CLICKHOUSE_MODES } from './spec/sink-modes';
export { checkSinkReferences } from './spec/sink-references';
export {
  GENERATOR_DEFAULT_DURATION_MS,
  pushSourceSpec,
  generatorSourceSpec,
  SOURCE_SPECS,
  sourceSpec,
  type SourceSpec,
} from './spec/sources';
export type { ReferenceProblem } from './spec/spec-problem';
export {
  joinStepSpec,
  slidingStepSpec,
  sessionStepSpec,
  SESSION_COLUMNS,
  sessionFields,
  emitStepSpec,
  type JoinConfig,
  type SlidingConfig,
  type SessionConfig,
} from './spec/stateful-steps';
export { schemaKind, STEP_SPECS, stepSpec, normaliseStep, type StepKind, type StepSpec } from './spec/steps';
export { checkTableStorage } from './spec/storage-spec';
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
export { MODE_SPECS, tableSpec, type LoadMode, type TableSpec } from './spec/tables';
export { checkWarehouseReferences, resolveWarehouse, type WarehouseProblem, type WarehouseSections } from './spec/warehouse-spec';
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
} from './spec/window';
export { H, makeHeaders, header, numberHeader, type Headers } from './wire/headers';
export { STREAMS, subjects, subjectTokens, consumers, BUCKETS, type Stage } from './wire/subjects';
