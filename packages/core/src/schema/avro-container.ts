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
  let resolver: avro.Resolver | undefined;
  let writer: avro.Type | undefined;
  let failure: TributaryError | undefined;
  // noDecode: the decoder hands over each record's bytes; they are read here with a resolver built
  // from types that know Tributary's logical types.
  const decoder = new avro.streams.BlockDecoder({ noDecode: true });
  decoder.on('metadata', (_t: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
    try {
      writer = avroType(JSON.parse(header.meta['avro.schema']!.toString()));
      resolver = reader.createResolver(writer);
    } catch (err) {
      failure = new TributaryError(
        'TRIB_E_SCHEMA_INCOMPATIBLE',
        `the body's Avro writer schema cannot be read with the source schema: ${(err as Error).message}`,
        { cause: err },
      );
      decoder.destroy(failure);
    }
  });
  const records: unknown[] = [];
  try {
    for await (const bytes of Readable.from([body]).pipe(decoder) as AsyncIterable<Buffer>) {
      records.push(plainAvro(reader.fromBuffer(bytes, resolver)));
    }
  } catch (err) {
    if (failure) throw failure;
    throw new TributaryError('TRIB_E_PARSE', `invalid Avro container: ${(err as Error).message}`, { cause: err });
  }
  if (failure) throw failure;
  return { records, writerFingerprint: writer ? writer.fingerprint('sha256').toString('hex').slice(0, 16) : '' };
}
