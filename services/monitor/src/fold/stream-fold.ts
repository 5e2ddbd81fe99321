/**
 * A fold loop: one core BatchConsumer on a monitor durable (`monitor-raw`, `monitor-processed`,
 * `monitor-dlq`) that writes each batch of message headers (and DLQ bodies) into PostgreSQL in
 * one transaction, then acks. Counts therefore live in the database and survive restarts
 * (docs/design.md, Counting invariant); the (stream, msg_id) key makes redelivery harmless.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { BatchConsumer } from '@tributary/runtime/nats';
import { type Logger } from '@tributary/runtime/logger';
import { consumers, STREAMS } from '@tributary/contract/wire';
import type { Pool } from 'pg';
import { insertDeadLetters } from '../dlq/dead-letter-store';
import { foldMessage, type DeadLetterRow, type FoldedMessage, type FoldedStream } from './folded-message';
import { insertStreamLog } from './stream-log-store';
import { inFoldTransaction, toWarehouseError } from '../warehouse-error';

/** Inputs of a fold loop. */
export interface StreamFoldOptions {
  stream: FoldedStream;
  js: JetStreamClient;
  pool: Pool;
  logger: Logger;
  maxBatch: number;
  /** The durable's max_deliver (from its consumer info). */
  maxDeliver: number;
  /** Called with the number of messages folded per batch (metrics). */
  onFolded?: (stream: FoldedStream, messages: number) => void;
  /** Called after commit with the dead letters stored for the first time (lineage). */
  onDeadLetters?: (rows: DeadLetterRow[]) => void;
}

/** The stream and durable a fold loop reads. */
export function foldSource(stream: FoldedStream): { stream: string; durable: string } {
  return { stream: STREAMS[stream], durable: consumers.monitor(stream) };
}

/**
 * Writes folded messages in one transaction; rolls back and rethrows a classified error.
 * Resolves with the dead letters stored for the first time.
 */
async function writeFolded(pool: Pool, folded: FoldedMessage[]): Promise<DeadLetterRow[]> {
  return inFoldTransaction(pool, 'cannot fold messages into PostgreSQL', async (client) => {
    const fresh = await insertStreamLog(
      client,
      folded.map((f) => f.row),
    );
    // Only messages not logged before get a dead-letter row, so a re-published DLQ message
    // (same msg ID, new sequence after the duplicate window) is listed once, as it is counted once.
    const seen = new Set<string>();
    const deadLetters = folded.flatMap((f) => {
      if (!f.deadLetter || !fresh.has(f.row.msgId) || seen.has(f.row.msgId)) return [];
      seen.add(f.row.msgId);
      return [f.deadLetter];
    });
    await insertDeadLetters(client, deadLetters);
    return deadLetters;
  });
}

/** Creates (does not start) the fold loop of one stream. */
export function createStreamFold(opts: StreamFoldOptions): BatchConsumer {
  const { stream, logger } = opts;
  const log = logger.child({ fold: stream });
  const fold = (msgs: JsMsg[]): FoldedMessage[] =>
    msgs.map((m) => {
      const f = foldMessage(stream, m);
      if (f.problems.length > 0) {
        log.warn({ subject: m.subject, seq: m.seq, problems: f.problems }, 'message headers incomplete; recording what they give');
      }
      return f;
    });

  return new BatchConsumer({
    js: opts.js,
    ...foldSource(stream),
    maxBatch: opts.maxBatch,
    maxDeliver: opts.maxDeliver,
    logger: log,
    handle: async (msgs) => {
      const fresh = await writeFolded(opts.pool, fold(msgs));
      opts.onFolded?.(stream, msgs.length);
      if (fresh.length > 0) opts.onDeadLetters?.(fresh);
    },
    // The monitor owns no output to dead-letter into: a message its batch could not write (or one
    // redelivered max_deliver times) is folded alone, and if its body is what the database refuses,
    // folded without the body. It is never acked unrecorded: failures here are retried by the loop.
    onPoison: async (msg, cause) => {
      const [f] = fold([msg]);
      try {
        const fresh = await writeFolded(opts.pool, [f!]);
        if (fresh.length > 0) opts.onDeadLetters?.(fresh);
      } catch (err) {
        if (toWarehouseError(err, 'fold').retryable || !f!.deadLetter) throw err;
        log.error({ err, cause, seq: msg.seq }, 'dead letter body refused by PostgreSQL; recording it without the body');
        const dl = f!.deadLetter;
        const reason = `(body not stored: ${(err as Error).message})`;
        await writeFolded(opts.pool, [
          {
            ...f!,
            deadLetter: {
              ...dl,
              record: null,
              original: null,
              errorLocation: null,
              errorDetails: null,
              errorMessage: `${dl.errorMessage ?? ''} ${reason}`.trim(),
            },
          },
        ]);
      }
      opts.onFolded?.(stream, 1);
    },
  });
}
