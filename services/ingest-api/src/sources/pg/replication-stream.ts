/**
 * A logical replication stream (`START_REPLICATION ... LOGICAL`) over a walsender connection,
 * decoded with pg-logical-replication's pgoutput parser, except for the messages of every change.
 *
 * Why not that library's LogicalReplicationService: it acknowledges the last LSN *received* on a
 * timer (we may acknowledge only what JetStream has), and with flow control on it emits server
 * keepalives ahead of queued data. Here the CopyBoth stream of pg-copy-streams gives ordered
 * frames with Node stream backpressure, and only the framing of the streaming replication
 * protocol (XLogData, keepalive, standby status update: ~40 lines) is written by hand.
 *
 * Begin, insert, update, delete and commit messages are decoded here too (`RowDecoder`): the
 * library builds each tuple as an `Object.create(null)` dictionary, formats every LSN as text and
 * decodes every value with a TextDecoder, and the record was then a copy of the tuple. That was a
 * quarter of the ingest-api's CPU in the bench's CDC stream (docs/PERFORMANCE.md, Seventh round).
 * The tuples decoded here are ordinary objects that become the records themselves, with the same
 * keys, order and values as the library's (a test compares the two on every kind of message).
 */
import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import type { Client } from 'pg';
import * as copyStreams from 'pg-copy-streams';
import type { Duplex } from 'node:stream';
import { quoteIdent } from './pg-connection';
import { parseValue } from './pg-values';
import { formatLsn } from './lsn';

/** An insert, update or delete; the tuples hold record values (`parseValue`), and are the caller's to keep or change. */
export interface RowChange {
  tag: 'insert' | 'update' | 'delete';
  relation: Pgoutput.MessageRelation;
  /** `schema.name` of the relation. */
  table: string;
  /** The new row (insert, update). */
  new: Record<string, unknown> | null;
  /** The old row: an update or delete of a table with REPLICA IDENTITY FULL. */
  old: Record<string, unknown> | null;
  /** The old key: an update that changed it, or a delete (without REPLICA IDENTITY FULL). */
  key: Record<string, unknown> | null;
}

/** What the stream yields, in server order. */
export type ReplicationEvent =
  | { type: 'begin'; commitLsn: bigint; commitTime: bigint }
  | { type: 'row'; change: RowChange }
  | { type: 'commit'; commitEndLsn: bigint }
  | { type: 'change'; walStart: bigint; message: Pgoutput.Message }
  | { type: 'keepalive'; walEnd: bigint; replyRequested: boolean };

const copyBoth = (copyStreams as unknown as { both: (sql: string, opts: object) => Duplex }).both;

/** Microseconds between the Unix epoch and PostgreSQL's (2000-01-01). */
const PG_EPOCH_US = 946_684_800_000_000n;

/** Frames the readable side may hold: the reader takes all of them at once, so they are decoded in bursts. */
const FRAMES_BUFFERED = 1024;

/** A started replication stream: iterate it for bursts of events, report progress with `acknowledge`. */
export class ReplicationStream implements AsyncIterable<ReplicationEvent[]> {
  private readonly duplex: Duplex;
  private readonly decoder: RowDecoder;

  private constructor(duplex: Duplex) {
    this.duplex = duplex;
    this.decoder = new RowDecoder();
    // An error between two reads is kept in `errored` and thrown by the next one.
    duplex.on('error', () => undefined);
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
    const duplex = client.query(
      copyBoth(sql, { alignOnCopyDataFrame: true, readableObjectMode: true, readableHighWaterMark: FRAMES_BUFFERED }) as never,
    ) as unknown as Duplex;
    return new ReplicationStream(duplex);
  }

  /**
   * Decoded events until the server ends the stream or the connection fails (then it throws), in
   * bursts: every frame received so far at once (one wait per burst, not one promise per change).
   */
  async *[Symbol.asyncIterator](): AsyncIterator<ReplicationEvent[]> {
    const d = this.duplex;
    for (;;) {
      const events: ReplicationEvent[] = [];
      let chunk: Buffer | null;
      while ((chunk = d.read() as Buffer | null) !== null) {
        const ev = this.decode(chunk);
        if (ev) events.push(ev);
      }
      if (events.length > 0) {
        yield events;
        continue;
      }
      if (d.errored) throw d.errored;
      if (d.readableEnded) return;
      if (d.destroyed) throw new Error('the replication stream was closed');
      await readable(d);
    }
  }

  private decode(chunk: Buffer): ReplicationEvent | undefined {
    const kind = chunk[0];
    if (kind === 0x77 /* w: XLogData */) return this.decoder.decode(chunk, 25, chunk.readBigUInt64BE(1));
    if (kind === 0x6b /* k: primary keepalive */)
      return { type: 'keepalive', walEnd: chunk.readBigUInt64BE(1), replyRequested: chunk[17] === 1 };
    return undefined;
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

/** Resolves when `d` has something to read, ended, or closed; rejects when it fails. */
function readable(d: Duplex): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      cleanup();
      resolve();
    };
    const fail = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const cleanup = (): void => {
      d.off('readable', done);
      d.off('end', done);
      d.off('close', done);
      d.off('error', fail);
    };
    d.on('readable', done);
    d.on('end', done);
    d.on('close', done);
    d.on('error', fail);
  });
}

/** What the decoder keeps of a relation. */
interface RelationInfo {
  relation: Pgoutput.MessageRelation;
  table: string;
  names: string[];
  convert: ((text: string) => unknown)[];
  /** False when a column is named `__proto__`: its tuples are built as the library builds them, then copied. */
  plain: boolean;
}

/**
 * Decodes pgoutput messages (protocol version 1): the change messages and begin/commit by hand
 * (the formats in PostgreSQL's docs, "Logical Replication Message Formats"), the rest with the
 * library's parser, which also keeps its relation cache for them (truncate names relations).
 */
export class RowDecoder {
  private readonly parser = new PgoutputPlugin({ protoVersion: 1, publicationNames: [] });
  private readonly relations = new Map<number, RelationInfo>();

  /** The event of the pgoutput message at `offset` of `buf`; `walStart` is its frame's WAL start. */
  decode(buf: Buffer, offset: number, walStart: bigint): ReplicationEvent {
    const tag = buf[offset];
    switch (tag) {
      case 0x42 /* B */:
        // Final (commit) LSN, commit time (µs since 2000-01-01), xid.
        return { type: 'begin', commitLsn: buf.readBigUInt64BE(offset + 1), commitTime: buf.readBigUInt64BE(offset + 9) + PG_EPOCH_US };
      case 0x43 /* C */:
        // Flags, commit LSN, end LSN of the commit record, commit time.
        return { type: 'commit', commitEndLsn: buf.readBigUInt64BE(offset + 10) };
      case 0x49 /* I */:
      case 0x55 /* U */:
      case 0x44 /* D */:
        return { type: 'row', change: this.row(buf, offset) };
      default: {
        const message = this.parser.parse(buf.subarray(offset));
        if (message.tag === 'relation') this.relations.set(message.relationOid, relationInfo(message));
        return { type: 'change', walStart, message };
      }
    }
  }

  private row(buf: Buffer, offset: number): RowChange {
    const tag = buf[offset];
    const info = this.relations.get(buf.readInt32BE(offset + 1));
    if (!info) throw new Error('missing relation');
    const r = { buf, pos: offset + 5 };
    const change: RowChange = { tag: 'insert', relation: info.relation, table: info.table, new: null, old: null, key: null };
    if (tag === 0x49 /* I */) {
      r.pos++; // 'N'
      change.new = readTuple(r, info, null);
      return change;
    }
    const sub = buf[r.pos++];
    if (sub === 0x4b /* K */) change.key = readKey(r, info);
    else if (sub === 0x4f /* O */) change.old = readTuple(r, info, null);
    else if (!(tag === 0x55 && sub === 0x4e)) throw new Error(`unknown submessage key ${String.fromCharCode(sub ?? 0)}`);
    if (tag === 0x44 /* D */) {
      change.tag = 'delete';
      return change;
    }
    change.tag = 'update';
    if (sub !== 0x4e /* N */) r.pos++; // 'N' after the key or old tuple
    change.new = readTuple(r, info, change.old);
    return change;
  }
}

function relationInfo(relation: Pgoutput.MessageRelation): RelationInfo {
  const names = relation.columns.map((c) => c.name);
  return {
    relation,
    table: `${relation.schema}.${relation.name}`,
    names,
    convert: relation.columns.map((c) => {
      const oid = c.typeOid;
      return (text: string) => parseValue(oid, text);
    }),
    plain: !names.includes('__proto__'),
  };
}

type Reader = { buf: Buffer; pos: number };

/**
 * A tuple (TupleData): values converted by `parseValue`, null for SQL NULL, the old row's value
 * for an unchanged TOASTed one (undefined without an old row), a Buffer for a binary one (never
 * asked for), exactly as the library's parser gives them.
 */
function readTuple(r: Reader, info: RelationInfo, unchanged: Record<string, unknown> | null): Record<string, unknown> {
  const { buf } = r;
  const n = buf.readInt16BE(r.pos);
  r.pos += 2;
  if (n > info.names.length) throw new Error('tuple has more columns than its relation');
  const tuple: Record<string, unknown> = info.plain ? {} : (Object.create(null) as Record<string, unknown>);
  for (let i = 0; i < n; i++) {
    const name = info.names[i]!;
    const kind = buf[r.pos++];
    if (kind === 0x74 /* t */) {
      const len = buf.readInt32BE(r.pos);
      const start = r.pos + 4;
      r.pos = start + len;
      if (r.pos > buf.length) throw new Error('unexpected end of message');
      tuple[name] = info.convert[i]!(buf.toString('utf8', start, r.pos));
    } else if (kind === 0x6e /* n */) tuple[name] = null;
    else if (kind === 0x75 /* u */) tuple[name] = unchanged?.[name];
    else if (kind === 0x62 /* b */) {
      const len = buf.readInt32BE(r.pos);
      const start = r.pos + 4;
      r.pos = start + len;
      if (r.pos > buf.length) throw new Error('unexpected end of message');
      tuple[name] = buf.subarray(start, r.pos);
    } else throw new Error(`unknown attribute kind ${String.fromCharCode(kind ?? 0)}`);
  }
  return info.plain ? tuple : { ...tuple };
}

/** A key tuple: only the replica identity's columns (the others come as nulls and are left out). */
function readKey(r: Reader, info: RelationInfo): Record<string, unknown> {
  const tuple = readTuple(r, info, null);
  const key: Record<string, unknown> = info.plain ? {} : (Object.create(null) as Record<string, unknown>);
  for (const k of info.relation.keyColumns) key[k] = tuple[k] === null ? undefined : tuple[k];
  return info.plain ? key : { ...key };
}
