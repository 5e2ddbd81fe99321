/**
 * `push` source: records arrive over HTTP (`POST /v1/pipelines/<pipeline>/sources/<source>/records`).
 * The app's route checks who may push and how often (api keys, rate limits, body admission), then
 * hands the body to the source registered for that pipeline and source, which does what every
 * source does: parse, give the records their message ID, ingest. The request's `Idempotency-Key`
 * makes a retry answer with the first reply instead of ingesting again.
 */
import { createHash } from 'node:crypto';
import { nuid } from '@nats-io/transport-node';
import { H, toSourceTime } from '@tributary/contract/wire';
import { pushSourceSpec, type Pipeline } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { binaryFormatOf, decodeBinaryBody } from '../parse/binary-body';
import { formatOf, parseBodyWithLines } from '../parse/parse-body';
import type { SourceTimeRule } from '../record-ingestor';
import type { PushReceiver, SourceFactory } from './source';

/** Config shape of the push source (from the core spec). */
export const spec = pushSourceSpec;

/** JSON Schema property types of a source schema, for typing CSV columns. */
function csvTypes(pipeline: Pipeline, source: string): Record<string, string> | undefined {
  const ref = pipeline.sources[source]?.schema;
  const props = (ref ? (pipeline.schemas[ref] as { properties?: Record<string, { type?: string }> }) : undefined)?.properties;
  if (!props) return undefined;
  return Object.fromEntries(Object.entries(props).map(([k, v]) => [k, typeof v.type === 'string' ? v.type : 'string']));
}

/** Creates a push source; `start` opens it to the route, `stop` closes it. */
export const create: SourceFactory<typeof spec> = (config, { pipeline, name, ingestor, http }) => {
  if (!http) throw new Error(`push source ${pipeline.name}/${name} needs the HTTP intake`);
  const receive: PushReceiver = async ({ body, contentType, idempotencyKey: idemKey, sourceTime: sentTime }) => {
    // Avro and Protobuf bodies are decoded with the source's schema; the rest are text formats.
    const binary = binaryFormatOf(contentType);
    const format = binary ? undefined : formatOf(contentType);
    if (idemKey !== undefined && (idemKey.length === 0 || idemKey.length > 255)) {
      throw new TributaryError('TRIB_E_PARSE', 'Idempotency-Key must be 1 to 255 characters');
    }
    // The request's header gives every record one source time; else the configured field, if any.
    let sourceTime: SourceTimeRule | undefined = config.source_time ? { field: config.source_time } : undefined;
    if (sentTime !== undefined) {
      const at = toSourceTime(sentTime);
      if (at === undefined)
        throw new TributaryError('TRIB_E_PARSE', `header ${H.sourceTime}: "${sentTime.slice(0, 60)}" is not an RFC 3339 timestamp`);
      sourceTime = { at };
    }
    const bodySha = idemKey ? createHash('sha256').update(body).digest('hex') : '';
    if (idemKey) {
      const first = await http.idempotency.get(pipeline.name, name, idemKey, bodySha);
      if (first) return { result: first, replayed: true };
    }
    const { records, lines } = binary
      ? { records: await decodeBinaryBody(body, binary, pipeline, name), lines: undefined }
      : parseBodyWithLines(body, format!, format === 'csv' ? csvTypes(pipeline, name) : undefined);
    // The ID rules of docs/design.md (Message IDs): the client's key makes retries idempotent; without one a
    // fresh ID is used, so a client retry after a lost reply may duplicate (documented).
    const id = idemKey ? `${name}:${idemKey}` : `${name}:${nuid.next()}`;
    const result = await ingestor.ingest(pipeline, name, records, id, undefined, lines, sourceTime);
    if (idemKey) await http.idempotency.put(pipeline.name, name, idemKey, bodySha, result);
    return { result, replayed: false };
  };
  let close: (() => void) | undefined;
  return {
    async start() {
      close = http.receive(pipeline.name, name, receive);
    },
    async stop() {
      close?.();
      close = undefined;
    },
  };
};
