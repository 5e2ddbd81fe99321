/**
 * Dead-letter messages: one per rejected record, carrying the record, the stage, the error code
 * and message, the attempt count and where the record came from, so it can be inspected and
 * replayed (DESIGN.md §3).
 */
import type { PubAck } from '@nats-io/jetstream';
import type { Rec } from '../codec/ndjson';
import type { ErrorCode, ErrorLocation } from '../errors';
import { H, makeHeaders } from './headers';
import type { Publisher } from './publisher';
import { subjects, type Stage } from './subjects';

/** The body of a DLQ message. */
export interface DeadLetter {
  pipeline: string;
  stage: Stage;
  /** Source (ingest, transform of a raw batch) or dataset (transform, load) the record belonged to. */
  name: string;
  /** The rejected record, or the raw text when it could not be decoded. */
  record: Rec | string | null;
  error: { code: ErrorCode; message: string; location?: ErrorLocation };
  attempts: number;
  /** Where the record was going: replay publishes it back there. */
  replaySubject: string;
  original: { stream?: string; subject?: string; seq?: number; msgId?: string; index?: number };
  ingestedAt: number;
  failedAt: string;
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
    [H.contentType]: 'application/json',
  });
  return publisher.publish(subject, Buffer.from(JSON.stringify(dl)), { msgId, headers });
}
