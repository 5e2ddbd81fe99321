/**
 * Dead-letter messages: one per rejected record, carrying the record, the stage, the error code
 * and message, the attempt count and where the record came from, so it can be inspected and
 * replayed (docs/design.md, Wire contract).
 */
import type { JsMsg, PubAck } from '@nats-io/jetstream';
import { type Rec } from '@tributary/contract/codec';
import { isTributaryError, toTributaryError, type ErrorCode, type ErrorLocation } from '@tributary/contract/errors';
import { type SchemaProblems } from '@tributary/contract/schema';
import { H, header, makeHeaders, numberHeader, subjects, subjectTokens, type Stage } from '@tributary/contract/wire';
import type { Publisher } from './publisher';

/** The body of a DLQ message. */
export interface DeadLetter {
  pipeline: string;
  stage: Stage;
  /** Source (ingest, transform of a raw batch) or dataset (transform, load) the record belonged to. */
  name: string;
  /** The rejected record, or the raw text when it could not be decoded. */
  record: Rec | string | null;
  /**
   * `stack`: the stack of an error that is not one of ours (a bug), so it can be found and fixed.
   * `details`: every reason when there are several, each `{ field, message, ... }` (a source
   * schema's or `validate` step's problems, schema drift: one entry per field), at most
   * MAX_RECORD_PROBLEMS; `more`: how many more there were. The monitor groups a dead letter under
   * every field its details name.
   */
  error: { code: ErrorCode; message: string; location?: ErrorLocation; stack?: string; details?: unknown; more?: number };
  attempts: number;
  /** Where the record was going: replay publishes it back there. */
  replaySubject: string;
  original: { stream?: string; subject?: string; seq?: number; msgId?: string; index?: number };
  ingestedAt: number;
  failedAt: string;
  /** Fingerprint of the source schema the record's batch was checked against (`<kind>:<hex>`), when known. */
  schema?: string;
}

/**
 * The error of a record that fails a schema: the summary as message, its first field in the
 * location, every problem (capped) as details.
 */
export function validationError(p: SchemaProblems, location: ErrorLocation = {}): DeadLetter['error'] {
  return {
    code: 'TRIB_E_VALIDATION',
    message: p.problem.message,
    location: { ...location, ...(p.problem.field ? { field: p.problem.field } : {}) },
    details: p.problems,
    ...(p.more ? { more: p.more } : {}),
  };
}

/** Publishes one dead letter with a deterministic message ID (`<msgId>` given by the caller). */
export function publishDeadLetter(publisher: Publisher, dl: DeadLetter, msgId: string): Promise<PubAck> {
  const subject = subjects.dlq(dl.pipeline, dl.stage, dl.name);
  const headers = makeHeaders({
    [H.pipeline]: dl.pipeline,
    [H.stage]: dl.stage,
    [H.name]: dl.name,
    [H.count]: 1,
    [H.errorCode]: dl.error.code,
    [H.ingestedAt]: dl.ingestedAt,
    [H.schema]: dl.schema,
    [H.contentType]: 'application/json',
  });
  return publisher.publish(subject, Buffer.from(JSON.stringify(dl)), { msgId, headers });
}

/**
 * Dead-letters a whole stream message a stage cannot process (the consumer loop's `onPoison`):
 * its text as the record, replayable to its own subject, under `<message ID>:dlq:batch`. The
 * name is the subject's second token after the stream prefix: the source of a raw message, the
 * dataset of a processed one.
 */
export async function deadLetterMessage(
  publisher: Publisher,
  msg: JsMsg,
  err: unknown,
  where: { pipeline: string; stage: Stage; stream: string },
): Promise<void> {
  const [, name] = subjectTokens(msg.subject);
  const msgId = header(msg.headers, 'Nats-Msg-Id') ?? `${where.stream}:${msg.seq}`;
  const e = toTributaryError(err);
  const stack = !isTributaryError(err) && err instanceof Error ? err.stack : undefined;
  await publishDeadLetter(
    publisher,
    {
      pipeline: where.pipeline,
      stage: where.stage,
      name: name ?? 'unknown',
      record: Buffer.from(msg.data).toString('utf8'),
      error: { code: e.code, message: e.message, location: e.location, ...(stack ? { stack } : {}) },
      attempts: msg.info.deliveryCount,
      replaySubject: msg.subject,
      original: { stream: where.stream, subject: msg.subject, seq: msg.seq, msgId },
      ingestedAt: numberHeader(msg.headers, H.ingestedAt, Date.now()),
      failedAt: new Date().toISOString(),
      ...(header(msg.headers, H.schema) ? { schema: header(msg.headers, H.schema) } : {}),
    },
    `${msgId}:dlq:batch`,
  );
}
