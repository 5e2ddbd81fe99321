/**
 * Turns one stream message into the rows the monitor keeps: a `tributary.stream_log` row for every
 * message, and a `tributary.dead_letters` row for DLQ messages. Pure: no I/O, so it is unit-tested.
 *
 * The header contract is in docs/design.md (Wire contract). A header that is missing or malformed never stops the fold:
 * what can be recorded is recorded (the subject stands in for routing headers, a count defaults to
 * 0, or 1 for a dead letter) and the problem is returned for the caller to log.
 */
import { H, header, subjectTokens } from '@tributary/contract/wire';
import type { MsgHdrs } from '@nats-io/transport-node';
import type { DeadLetterRow } from '../dlq/dead-letter-store';

export type { DeadLetterRow } from '../dlq/dead-letter-store';

/** The streams the monitor folds, as named in `stream_log.stream`. */
export type FoldedStream = 'raw' | 'processed' | 'dlq';

/** The parts of a JetStream message the fold reads (a `JsMsg` has them). */
export interface StreamMessage {
  subject: string;
  seq: number;
  headers?: MsgHdrs;
  data: Uint8Array;
}

/** A row of `tributary.stream_log`. */
export interface StreamLogRow {
  stream: FoldedStream;
  msgId: string;
  pipeline: string;
  /** Source (raw), dataset (processed), source or dataset (dlq). */
  name: string;
  stage: string | null;
  errorCode: string | null;
  records: number;
  filtered: number;
  /** Of `filtered`, records counted elsewhere in the pipeline (header Trib-Routed). */
  routed: number;
  /** ISO time, or null when the header is missing or malformed. */
  ingestedAt: string | null;
  seq: number;
  /** A replayed dead letter (header Trib-Replay-Of): its DLQ sequence; its records count as replayed, not accepted. */
  replayOf: number | null;
}

/** What one message folds into, and what was wrong with it. */
export interface FoldedMessage {
  row: StreamLogRow;
  deadLetter?: DeadLetterRow;
  problems: string[];
}

const STAGES = new Set(['ingest', 'transform', 'load']);
const UNKNOWN = 'unknown';

/** PostgreSQL text and jsonb cannot hold NUL; everything else is kept as sent. */
function clean(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}

/** JSON text for a jsonb column (null for undefined), with NULs replaced. */
function jsonText(v: unknown): string | null {
  if (v === undefined) return null;
  return JSON.stringify(v, (_k, val: unknown) => (typeof val === 'string' ? clean(val) : val));
}

/** Epoch milliseconds to ISO, or undefined when not a plausible time. */
function epochMsToIso(v: unknown): string | undefined {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) return undefined;
  const d = new Date(n);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

/** Reads a routing value from its header, falling back to the subject token; notes disagreements. */
function routed(h: MsgHdrs | undefined, name: string, token: string | undefined, problems: string[]): string {
  const fromHeader = header(h, name);
  if (fromHeader === undefined) {
    problems.push(`header ${name} missing${token ? `; using "${token}" from the subject` : ''}`);
    return clean(token ?? UNKNOWN);
  }
  // The subject decides where a message flows (consumers filter on it), so it wins a disagreement.
  if (token !== undefined && token !== fromHeader) {
    problems.push(`header ${name} "${fromHeader}" disagrees with the subject ("${token}"); using the subject`);
    return clean(token);
  }
  return clean(fromHeader);
}

/** Reads a non-negative integer header; a missing or malformed one is `fallback`, noted. */
function countHeader(h: MsgHdrs | undefined, name: string, fallback: number, problems: string[]): number {
  const v = header(h, name);
  if (v === undefined) {
    problems.push(`header ${name} missing; counting ${fallback}`);
    return fallback;
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0 || n > 2 ** 31 - 1) {
    problems.push(`header ${name} "${v}" is not a non-negative integer; counting ${fallback}`);
    return fallback;
  }
  return n;
}

function ingestedAtHeader(h: MsgHdrs | undefined, problems: string[]): string | null {
  const v = header(h, H.ingestedAt);
  if (v === undefined) {
    problems.push(`header ${H.ingestedAt} missing`);
    return null;
  }
  const iso = epochMsToIso(v);
  if (iso === undefined) problems.push(`header ${H.ingestedAt} "${v}" is not epoch milliseconds`);
  return iso ?? null;
}

function messageId(msg: StreamMessage, problems: string[]): string {
  const id = header(msg.headers, 'Nats-Msg-Id');
  if (id !== undefined) return clean(id);
  // Keyed by the stream sequence instead: still idempotent under redelivery, just not across re-publishes.
  problems.push(`header Nats-Msg-Id missing; keying the message by its sequence`);
  return `seq:${msg.seq}`;
}

/** Folds one message of `stream` into its rows. Never throws. */
export function foldMessage(stream: FoldedStream, msg: StreamMessage): FoldedMessage {
  const problems: string[] = [];
  const h = msg.headers;
  const tokens = subjectTokens(msg.subject);
  const msgId = messageId(msg, problems);
  const pipeline = routed(h, H.pipeline, tokens[0], problems);
  const ingestedAt = ingestedAtHeader(h, problems);
  const base = {
    stream,
    msgId,
    pipeline,
    ingestedAt,
    seq: msg.seq,
    stage: null,
    errorCode: null,
    filtered: 0,
    routed: 0,
    replayOf: replayOf(h, problems),
  };

  if (stream === 'raw') {
    const name = routed(h, H.source, tokens[1], problems);
    return { row: { ...base, name, records: countHeader(h, H.count, 0, problems) }, problems };
  }
  if (stream === 'processed') {
    const name = routed(h, H.dataset, tokens[1], problems);
    const records = countHeader(h, H.count, 0, problems);
    const filtered = countHeader(h, H.filtered, 0, problems);
    // Absent when nothing of the input was counted elsewhere (most messages).
    const elsewhere = header(h, H.routed) === undefined ? 0 : Math.min(filtered, countHeader(h, H.routed, 0, problems));
    return { row: { ...base, name, records, filtered, routed: elsewhere }, problems };
  }

  const stage = routed(h, H.stage, tokens[1], problems);
  if (!STAGES.has(stage)) problems.push(`stage "${stage}" is not one of ingest, transform, load`);
  const name = routed(h, H.name, tokens.slice(2).join('.') || undefined, problems);
  const body = parseBody(msg.data, problems);
  const error = asObject(body?.error);
  const errorCode = header(h, H.errorCode) ?? asString(error?.code);
  if (errorCode === undefined) problems.push(`header ${H.errorCode} missing and the body names no error code`);
  const records = countHeader(h, H.count, 1, problems);
  const failedAt = asString(body?.failedAt);
  const failedIso = failedAt !== undefined && !Number.isNaN(Date.parse(failedAt)) ? new Date(failedAt).toISOString() : null;
  const attempts = body?.attempts;
  const deadLetter: DeadLetterRow = {
    seq: msg.seq,
    msgId,
    pipeline,
    stage,
    name,
    errorCode: errorCode === undefined ? null : clean(errorCode),
    errorMessage: asString(error?.message) === undefined ? null : clean(asString(error?.message)!),
    errorLocation: jsonText(error?.location),
    record: jsonText(body?.record),
    original: jsonText(body?.original),
    replaySubject: asString(body?.replaySubject) === undefined ? null : clean(asString(body?.replaySubject)!),
    attempts: typeof attempts === 'number' && Number.isSafeInteger(attempts) && attempts >= 0 && attempts < 2 ** 31 ? attempts : null,
    ingestedAt: ingestedAt ?? epochMsToIso(body?.ingestedAt) ?? null,
    failedAt: failedIso,
    schemaFingerprint: header(h, H.schema) === undefined ? null : clean(header(h, H.schema)!),
    errorDetails: Array.isArray(error?.details) ? jsonText(error.details) : null,
    errorFields: errorFields(error),
  };
  return {
    row: { ...base, ingestedAt: deadLetter.ingestedAt, name, stage, errorCode: deadLetter.errorCode, records },
    deadLetter,
    problems,
  };
}

/** The fields an error names, in order and once each: its details' fields, else its location's. */
function errorFields(error: Record<string, unknown> | undefined): string[] {
  const fields = new Set<string>();
  if (Array.isArray(error?.details))
    for (const d of error.details as unknown[]) {
      const f = asObject(d)?.field;
      if (typeof f === 'string' && f !== '') fields.add(clean(f));
    }
  const at = asString(asObject(error?.location)?.field);
  if (fields.size === 0 && at) fields.add(clean(at));
  return [...fields];
}

/** The DLQ sequence a replayed message came from, or null; a malformed header is noted and ignored. */
function replayOf(h: MsgHdrs | undefined, problems: string[]): number | null {
  const v = header(h, H.replayOf);
  if (v === undefined) return null;
  const n = Number(v);
  if (Number.isSafeInteger(n) && n > 0) return n;
  problems.push(`header ${H.replayOf} "${v}" is not a DLQ sequence; counting the message as new`);
  return null;
}

function parseBody(data: Uint8Array, problems: string[]): Record<string, unknown> | undefined {
  if (data.byteLength === 0) {
    problems.push('dead letter has no body');
    return undefined;
  }
  try {
    const v = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as unknown;
    const obj = asObject(v);
    if (!obj) problems.push('dead letter body is not a JSON object');
    return obj;
  } catch (err) {
    problems.push(`dead letter body is not JSON: ${(err as Error).message}`);
    return undefined;
  }
}

function asObject(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
