/**
 * @tributary/contract/schema: record schemas (JSON Schema, Avro, Protobuf), exact values, timestamps, ONNX signatures.
 */
export { compileRecordSchema, type RecordValidator } from './json-schema';
export { decodeAvroContainer } from './avro-container';
export { isExactDouble, exactNumber, parseJsonExact, decimalText, int64Value } from './exact-values';
export { ONNX_ELEMENT_TYPES, onnxSignature, modelIdentity, type OnnxTensorInfo, type OnnxSignature } from './onnx-signature';
export { decodeProtobufDelimited } from './protobuf-delimited';
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
  type RecordSchema,
} from './record-schema';
export { MAX_RECORD_PROBLEMS, moreMarker, summariseProblems, type SchemaProblem, type SchemaProblems } from './schema-problems';
export { daysInMonth, validDate, isCanonicalTimestamp, parseIsoTimestamp } from './timestamps';
