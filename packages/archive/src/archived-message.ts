/**
 * What the archive keeps of a JetStream message, and its row layout. A file holds one row per
 * record with the message's stream sequence, subject, message ID, the record's index in the
 * message, the message's ingest time and the record as its JSON line, unchanged; the message's
 * headers ride on its first row. A message without records (every record filtered) is one row
 * with a null index and record, so a backfill republishes it too. `fromRows` checks a file's
 * rows and names the file and row of the first problem.
 */
import { TributaryError } from '@tributary/contract/errors';

/** A message as archived and republished. */
export interface ArchivedMessage {
  /** Stream sequence in its stream when archived. */
  seq: number;
  subject: string;
  /** `Nats-Msg-Id`: republished unchanged, so the loader's ledger recognises it. */
  msgId: string;
  /** `Trib-Ingested-At` (epoch ms). */
  ingestedAt: number;
  /** Every header except `Nats-Msg-Id`. */
  headers: Record<string, string>;
  /** The NDJSON lines of the body, in order. */
  records: string[];
}

/** One row of an archive file (the same columns in Parquet and NDJSON). */
export interface ArchiveRow {
  stream_seq: number;
  subject: string;
  msg_id: string;
  record_index: number | null;
  /** Epoch ms. */
  ingested_at: number;
  /** JSON object of the message's headers, on its first row; null on the others. */
  headers: string | null;
  /** The record's JSON text; null for the row of a message without records. */
  record: string | null;
}

/** The rows of `messages`, in order. */
export function toRows(messages: readonly ArchivedMessage[]): ArchiveRow[] {
  const rows: ArchiveRow[] = [];
  for (const m of messages) {
    const base = { stream_seq: m.seq, subject: m.subject, msg_id: m.msgId, ingested_at: m.ingestedAt };
    const headers = JSON.stringify(m.headers);
    if (m.records.length === 0) rows.push({ ...base, record_index: null, headers, record: null });
    m.records.forEach((record, i) => rows.push({ ...base, record_index: i, headers: i === 0 ? headers : null, record }));
  }
  return rows;
}

/** Splits an NDJSON body into its non-empty lines. */
export function bodyLines(data: Uint8Array): string[] {
  const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Rebuilds the messages of a file from its rows; a malformed row is TRIB_E_DECODE naming `file` and the row. */
export function fromRows(rows: readonly Partial<Record<keyof ArchiveRow, unknown>>[], file: string): ArchivedMessage[] {
  const out: ArchivedMessage[] = [];
  let current: ArchivedMessage | undefined;
  rows.forEach((row, i) => {
    const bad = (reason: string): never => {
      throw new TributaryError('TRIB_E_DECODE', `${file}: record ${i}: ${reason}`, { location: { file, index: i } });
    };
    const seq = row.stream_seq;
    if (!Number.isSafeInteger(seq) || (seq as number) < 1) bad(`stream_seq must be a positive integer, got ${String(seq)}`);
    const msgId = row.msg_id;
    if (typeof msgId !== 'string' || msgId === '') bad('msg_id is missing');
    if (typeof row.subject !== 'string' || !row.subject.startsWith('trib.'))
      bad(`subject is not a Tributary subject: ${String(row.subject)}`);
    const ingestedAt = row.ingested_at;
    if (typeof ingestedAt !== 'number' || !Number.isFinite(ingestedAt)) bad('ingested_at is missing');
    const index = row.record_index;
    const first = current === undefined || current.msgId !== msgId || current.seq !== seq;
    if (first) {
      if (current) out.push(current);
      const headers = parseHeaders(row.headers, bad);
      current = {
        seq: seq as number,
        subject: row.subject as string,
        msgId: msgId as string,
        ingestedAt: ingestedAt as number,
        headers,
        records: [],
      };
      if (index === null || index === undefined) {
        if (row.record !== null && row.record !== undefined) bad('a row without record_index must have no record');
        current.records = [];
        return;
      }
    } else if (current!.records.length === 0 && (index === null || index === undefined)) {
      bad(`message ${msgId as string} has a second row without record_index`);
    }
    if (index !== current!.records.length)
      bad(`record_index ${String(index)} of message ${msgId as string}: expected ${current!.records.length}`);
    current!.records.push(recordText(row.record, bad));
  });
  if (current) out.push(current);
  for (const m of out) {
    const declared = m.headers['Trib-Count'];
    if (declared !== undefined && Number(declared) !== m.records.length) {
      throw new TributaryError(
        'TRIB_E_DECODE',
        `${file}: message ${m.msgId} (stream sequence ${m.seq}) declares ${declared} records (Trib-Count) but the file holds ${m.records.length}`,
        { location: { file } },
      );
    }
  }
  return out;
}

function parseHeaders(v: unknown, bad: (reason: string) => never): Record<string, string> {
  if (v === null || v === undefined) return bad('the first row of a message must carry its headers');
  let parsed: unknown = v;
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(v);
    } catch (err) {
      return bad(`headers are not JSON: ${(err as Error).message}`);
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return bad('headers must be a JSON object');
  for (const [k, x] of Object.entries(parsed)) if (typeof x !== 'string') bad(`header ${k} must be a string`);
  return parsed as Record<string, string>;
}

function recordText(v: unknown, bad: (reason: string) => never): string {
  // A Parquet reader may hand a JSON column back parsed; NDJSON rows carry the object itself.
  const text = typeof v === 'string' ? v : v !== null && typeof v === 'object' ? JSON.stringify(v) : bad('record is missing');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return bad(`record is not JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) bad('record must be a JSON object');
  return text;
}
