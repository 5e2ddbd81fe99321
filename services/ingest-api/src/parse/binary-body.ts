/**
 * Binary request bodies decoded with the source's schema: an Avro Object Container File
 * (`application/avro`), whose embedded writer schema is resolved against the source's `.avsc`
 * (older compatible versions are read, incompatible ones refused with the reason), or
 * length-delimited Protobuf messages (`application/x-protobuf`) of the source's `.proto` message.
 * The decoded records then take the same path as JSON ones (per-record schema check, batching).
 */
import { decodeAvroContainer, decodeProtobufDelimited, schemaKindOf } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { type Pipeline } from '@tributary/contract/spec';

/** Binary content types, by canonical name. */
export const BINARY_TYPES = {
  'application/avro': 'avro',
  'avro/binary': 'avro',
  'application/vnd.apache.avro+binary': 'avro',
  'application/x-protobuf': 'protobuf',
  'application/protobuf': 'protobuf',
  'application/vnd.google.protobuf': 'protobuf',
} as const;

/** A binary body format. */
export type BinaryFormat = (typeof BINARY_TYPES)[keyof typeof BINARY_TYPES];

/** The binary format a Content-Type names, or undefined for the text formats. */
export function binaryFormatOf(contentType: string | undefined): BinaryFormat | undefined {
  const base = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return (BINARY_TYPES as Record<string, BinaryFormat>)[base];
}

/** Decodes a binary body with the schema of `pipeline`'s `source`; its kind must match the format. */
export async function decodeBinaryBody(body: Buffer, format: BinaryFormat, pipeline: Pipeline, source: string): Promise<unknown[]> {
  const ref = pipeline.sources[source]?.schema;
  if (!ref || schemaKindOf(ref) !== format) {
    const ext = format === 'avro' ? '.avsc' : '.proto';
    throw new TributaryError(
      'TRIB_E_UNSUPPORTED_MEDIA_TYPE',
      `source "${source}" has no ${format === 'avro' ? 'Avro' : 'Protobuf'} schema (a \`schema: <file>${ext}\`) to decode a ${format} body with`,
    );
  }
  if (body.length === 0) return [];
  if (format === 'avro') return (await decodeAvroContainer(body, pipeline.schemas[ref])).records;
  return decodeProtobufDelimited(body, String(pipeline.schemas[ref]));
}
