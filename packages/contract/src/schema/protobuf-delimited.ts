/**
 * Decodes a body of length-delimited Protobuf messages (`Content-Type: application/x-protobuf`,
 * the framing of `writeDelimitedTo` in the official libraries) into records, with the message
 * type of the source's `.proto` schema. A truncated or malformed body is TRIB_E_PARSE naming the
 * message where decoding stopped.
 */
import protobuf from 'protobufjs';
import { TributaryError } from '../errors';
import { plainProtobuf, protobufType } from './record-schema';

/** Records of a delimited body, decoded as `message` of the .proto source `protoText`. */
export function decodeProtobufDelimited(body: Buffer, protoText: string, message?: string): unknown[] {
  const type = protobufType(protoText, message);
  const reader = protobuf.Reader.create(body);
  const out: unknown[] = [];
  while (reader.pos < reader.len) {
    try {
      out.push(plainProtobuf(type, type.decodeDelimited(reader)));
    } catch (err) {
      throw new TributaryError('TRIB_E_PARSE', `invalid Protobuf body at message ${out.length + 1}: ${(err as Error).message}`, {
        location: { index: out.length },
        cause: err,
      });
    }
  }
  return out;
}
