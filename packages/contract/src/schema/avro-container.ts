/**
 * Decodes an Avro Object Container File (a body with `Content-Type: application/avro`): the file
 * carries its writer schema, which is resolved against the source's reader schema by Avro's
 * schema resolution rules (new fields with defaults, removed fields, promoted types), so a
 * producer on an older compatible schema version still gets in. A writer schema that cannot be
 * resolved is TRIB_E_SCHEMA_INCOMPATIBLE naming why; a body that is not a container is TRIB_E_PARSE.
 */
import { Readable } from 'node:stream';
import avro from 'avsc';
import { TributaryError } from '../errors';
import { avroType, plainAvro } from './record-schema';

/** Records of a container file, read with `readerSchema`, and the writer schema's fingerprint. */
export async function decodeAvroContainer(body: Buffer, readerSchema: unknown): Promise<{ records: unknown[]; writerFingerprint: string }> {
  const reader = avroType(readerSchema);
  let writer: avro.Type | undefined;
  let failure: TributaryError | undefined;
  // Both types are built with Tributary's logical types: the writer's through parseHook (a Type is
  // taken as its own schema), the reader's passed in whole; the decoder resolves one to the other.
  const decoder = new avro.streams.BlockDecoder({
    readerSchema: reader as unknown as avro.Schema,
    parseHook: (schema: unknown) => {
      writer = avroType(schema);
      try {
        reader.createResolver(writer);
      } catch (err) {
        failure = new TributaryError(
          'TRIB_E_SCHEMA_INCOMPATIBLE',
          `the body's Avro writer schema cannot be read with the source schema: ${(err as Error).message}`,
          { cause: err },
        );
        throw failure;
      }
      return writer;
    },
  });
  const records: unknown[] = [];
  try {
    for await (const value of Readable.from([body]).pipe(decoder) as AsyncIterable<unknown>) records.push(plainAvro(value));
  } catch (err) {
    if (failure) throw failure;
    throw new TributaryError('TRIB_E_PARSE', `invalid Avro container: ${(err as Error).message}`, { cause: err });
  }
  if (failure) throw failure;
  return { records, writerFingerprint: writer ? writer.fingerprint('sha256').toString('hex').slice(0, 16) : '' };
}
