/**
 * Ingests one file (a folder entry or a bucket object) exactly once: items are read in order and
 * published in fixed-size chunks whose message IDs derive from the file's content identity and
 * the chunk's first item; after each chunk the offset is committed in `trib_cursors`, so a
 * restart resumes mid-file and republishes at most one chunk, under the same ID. Rows that do not
 * parse or fail the source schema are dead-lettered with the file name, line and reason.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { RecordValidator, SchemaProblems } from '@tributary/contract/schema';
import { JsonLines } from '../../record-ingestor';
import type { PullContext } from '../pull-source';
import { FileFormatError, readItemBatches, type FileFormat, type ReadOptions } from './record-reader';

/** What is remembered per file content (sub-key `file.<contentId>` of the source's cursor). */
export interface FileState {
  name: string;
  status: 'processing' | 'done' | 'failed';
  /** Items (records and bad rows) handled so far: the resume offset. */
  items: number;
  records: number;
  rejected: number;
  error?: string;
}

/** One file to ingest. */
export interface FileJob {
  /** Identity of the content: its SHA-256 (folder) or ETag and size (bucket). Key-safe characters only. */
  contentId: string;
  /** Name in dead letters and logs: the file name, or the object key. */
  name: string;
  format: FileFormat;
  /** The file's modification time, as a canonical source time: every record's source time. */
  modifiedAt?: string;
  /** Opens the content from the start. */
  open(): Promise<Readable>;
}

/** Options of ingestFile. */
export interface IngestFileOptions {
  batchRecords: number;
  read: Omit<ReadOptions, 'format'>;
  /** The source schema, checked here so a rejected row is reported with its file and line. */
  validate?: RecordValidator;
}

/** Chunks of one file in flight: one awaiting its PubAck and commit while the next is read (more would let an abort publish several chunks late). */
const CHUNKS_IN_FLIGHT = 2;

/** The cursor sub-key of a file content. */
export function fileStateKey(contentId: string): string {
  return `file.${contentId}`;
}

/** Ingests `job` (or finishes it, after a restart); returns its final state. Already-done content is not read again. */
export async function ingestFile(ctx: PullContext, job: FileJob, o: IngestFileOptions): Promise<FileState> {
  const key = fileStateKey(job.contentId);
  const prior = await ctx.cursors.get<FileState>(key);
  if (prior && prior.status !== 'processing') return prior;
  const state: FileState = prior ?? { name: job.name, status: 'processing', items: 0, records: 0, rejected: 0 };
  if (!prior) await ctx.cursors.commit(state, key);
  if (state.items > 0) ctx.logger.info({ file: job.name, offset: state.items }, 'resuming file');

  // Short, fixed-length form of the content identity for message IDs.
  const id = createHash('sha256').update(job.contentId).digest('hex').slice(0, 16);
  let chunkStart = Math.floor(state.items / o.batchRecords) * o.batchRecords;
  // A file of a source without a schema comes as JSON text, published as it is (no object per row).
  const asText = !o.validate;
  let records: unknown[] = [];
  let dlq: Promise<void>[] = [];
  let rejected = 0;
  let index = 0;

  const bad = (
    at: number,
    line: number,
    code: 'TRIB_E_PARSE' | 'TRIB_E_VALIDATION',
    message: string,
    record: unknown,
    problems?: SchemaProblems,
  ): void => {
    rejected++;
    const field = problems?.problem.field;
    dlq.push(
      ctx.deadLetter(
        {
          record,
          code,
          message: `${job.name} line ${line}: ${message}`,
          location: { file: job.name, line, ...(field ? { field } : {}) },
          ...(problems ? { details: problems.problems, ...(problems.more ? { more: problems.more } : {}) } : {}),
        },
        `file:${id}:${at}`,
      ),
    );
  };
  // Chunks in flight at once: reading and parsing go on while earlier chunks wait for their
  // PubAcks, instead of the source idling one round trip per chunk. Offsets are still committed
  // in file order, each only once its chunk and every earlier one are durable.
  const inflight: Promise<void>[] = [];
  let committed: Promise<void> = Promise.resolve();
  const flush = (end: number): Promise<void> => {
    const [batch, dead, batchRejected, start] = [records, dlq, rejected, chunkStart];
    records = [];
    dlq = [];
    rejected = 0;
    chunkStart = end;
    // Dead letters first: the offset must not pass a bad row whose DLQ message is not durable.
    const durable = Promise.all(dead).then(() =>
      batch.length > 0
        ? ctx.publish(
            asText ? new JsonLines(batch as string[]) : batch,
            `file:${id}:${start}`,
            job.modifiedAt ? { at: job.modifiedAt } : undefined,
          )
        : undefined,
    );
    committed = Promise.all([committed, durable]).then(async () => {
      state.items = end;
      state.records += batch.length;
      state.rejected += batchRejected;
      await ctx.cursors.commit(state, key);
    });
    // Observed here so a failure is not reported unhandled before `settle` or the next flush awaits it.
    committed.catch(() => undefined);
    inflight.push(committed);
    return inflight.length >= CHUNKS_IN_FLIGHT ? inflight.shift()! : Promise.resolve();
  };
  /** Waits for every chunk handed to `flush`; on failure, lets none outlive the run unobserved. */
  const settle = async (): Promise<void> => {
    try {
      await Promise.all(inflight.splice(0));
    } finally {
      await committed.catch(() => undefined);
    }
  };

  const input = await job.open();
  try {
    for await (const batch of readItemBatches(input, { ...o.read, format: job.format, json: asText })) {
      for (const item of batch) {
        const i = index++;
        if (i < state.items) continue; // published before a restart
        ctx.signal.throwIfAborted();
        if ('error' in item) bad(i, item.line, 'TRIB_E_PARSE', item.error, item.raw ?? null);
        else if ('json' in item) records.push(item.json);
        else {
          const problem = o.validate?.(item.record);
          if (problem) bad(i, item.line, 'TRIB_E_VALIDATION', problem.problem.message, item.record, problem);
          else records.push(item.record);
        }
        if (index - chunkStart >= o.batchRecords) await flush(index);
      }
    }
    await flush(index);
    await settle();
    state.status = 'done';
  } catch (err) {
    if (!(err instanceof FileFormatError) || ctx.signal.aborted) throw err;
    // Rows read before the break were published; the rest of the file is unreadable.
    await flush(index);
    await settle();
    await ctx.deadLetter(
      {
        record: null,
        code: 'TRIB_E_PARSE',
        message: `${job.name}: ${err.message}`,
        location: { file: job.name, ...(err.line ? { line: err.line } : {}) },
      },
      `file:${id}:fatal`,
    );
    state.status = 'failed';
    state.error = err.message;
  } finally {
    input.destroy();
    await settle().catch(() => undefined);
  }
  await ctx.cursors.commit(state, key);
  ctx.logger.info({ file: job.name, status: state.status, records: state.records, rejected: state.rejected }, 'file processed');
  return state;
}
