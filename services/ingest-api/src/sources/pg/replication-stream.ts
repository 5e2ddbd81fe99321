/**
 * A logical replication stream (`START_REPLICATION ... LOGICAL`) over a walsender connection,
 * decoded with pg-logical-replication's pgoutput parser.
 *
 * Why not that library's LogicalReplicationService: it acknowledges the last LSN *received* on a
 * timer (we may acknowledge only what JetStream has), and with flow control on it emits server
 * keepalives ahead of queued data. Here the CopyBoth stream of pg-copy-streams gives ordered
 * frames with Node stream backpressure, and only the framing of the streaming replication
 * protocol (XLogData, keepalive, standby status update: ~40 lines) is written by hand.
 */
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Client } from 'pg';
import * as copyStreams from 'pg-copy-streams';
import type { Duplex } from 'node:stream';
import { quoteIdent } from './pg-connection';
import { parseValue } from './pg-values';
import { formatLsn } from './lsn';

/** What the stream yields, in server order. */
export type ReplicationEvent =
  { type: 'change'; walStart: bigint; message: Pgoutput.Message } | { type: 'keepalive'; walEnd: bigint; replyRequested: boolean };

const copyBoth = (copyStreams as unknown as { both: (sql: string, opts: object) => Duplex }).both;

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

/** A started replication stream: iterate it for events, report progress with `acknowledge`. */
export class ReplicationStream implements AsyncIterable<ReplicationEvent> {
  private readonly duplex: Duplex;
  private readonly parser: PgoutputPlugin;

  private constructor(duplex: Duplex, publication: string) {
    this.duplex = duplex;
    this.parser = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
  }

  /**
   * Starts streaming `slot` from `startLsn` (0 = where the slot's confirmed position is) on a
   * walsender connection. `messages` asks for logical messages (heartbeats; PostgreSQL 14+).
   */
  static start(client: Client, opts: { slot: string; publication: string; startLsn: bigint; messages: boolean }): ReplicationStream {
    const options = [`proto_version '1'`, `publication_names '${opts.publication.replace(/'/g, "''")}'`];
    if (opts.messages) options.push(`messages 'true'`);
    const sql = `START_REPLICATION SLOT ${quoteIdent(opts.slot)} LOGICAL ${formatLsn(opts.startLsn)} (${options.join(', ')})`;
    // One pushed chunk per CopyData frame, as objects so the readable side never concatenates them.
    const duplex = client.query(copyBoth(sql, { alignOnCopyDataFrame: true, readableObjectMode: true }) as never) as unknown as Duplex;
    return new ReplicationStream(duplex, opts.publication);
  }

  /** Decoded events until the server ends the stream or the connection fails (then it throws). */
  async *[Symbol.asyncIterator](): AsyncIterator<ReplicationEvent> {
    for await (const chunk of this.duplex as AsyncIterable<Buffer>) {
      const kind = chunk[0];
      if (kind === 0x77 /* w: XLogData */) {
        const message = this.parser.parse(chunk.subarray(25));
        if (message.tag === 'relation') useRecordValues(message);
        yield { type: 'change', walStart: chunk.readBigUInt64BE(1), message };
      } else if (kind === 0x6b /* k: primary keepalive */) {
        yield { type: 'keepalive', walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
      }
    }
  }

  /**
   * Sends a standby status update: everything before `flushed` is durable on our side, so the
   * server may recycle that WAL and a restarted stream begins there.
   */
  acknowledge(flushed: bigint, replyRequested = false): void {
    if (this.duplex.destroyed || this.duplex.writableEnded) return;
    const buf = Buffer.alloc(34);
    buf[0] = 0x72; // r
    buf.writeBigUInt64BE(flushed, 1); // written
    buf.writeBigUInt64BE(flushed, 9); // flushed
    buf.writeBigUInt64BE(flushed, 17); // applied
    buf.writeBigUInt64BE(BigInt(Date.now()) * 1000n - PG_EPOCH_US, 25);
    buf[33] = replyRequested ? 1 : 0;
    this.duplex.write(buf);
  }

  /** Stops reading; the caller ends the connection. */
  destroy(): void {
    this.duplex.destroy();
  }
}

/**
 * Swaps the parser's per-column converters (pg's defaults) for `parseValue`, so replicated
 * tuples look like snapshot and poll rows. Relation messages precede the tuples that use them
 * and the parser caches the same column objects, so patching them here is enough.
 */
function useRecordValues(relation: Pgoutput.MessageRelation): void {
  for (const col of relation.columns) {
    const oid = col.typeOid;
    col.parser = (text: string) => parseValue(oid, text);
  }
}
