/**
 * Groups replicated changes into batches with restart-stable boundaries, and works out how far
 * PostgreSQL may be told we are durable.
 *
 * Message IDs are `cdc:<first>-<last>` positions. A batch cut by size or by a timer would be cut
 * differently after a restart, so its ID would change and JetStream could not drop the repeat.
 * So the range of a batch is committed (as `pending`) before it is published: after a crash the
 * same range is rebuilt and published under the same ID, changes up to `acked` are skipped, and
 * only then does batching go on as usual. No duplicate window is relied on.
 *
 * A batch ends only where a source transaction ends (docs/design.md, Source transactions), so each
 * message holds whole transactions and the loader can make each visible in one commit; only a
 * transaction of more than `maxTxnRecords` changes is cut (it then becomes visible in parts).
 */
import { comparePos, type ChangePos } from './lsn';

/** What the batcher resumes from (from the cursor store). */
export interface BatcherResume {
  /** Last change JetStream acknowledged. */
  acked?: ChangePos;
  /** A batch whose range was committed but whose publish may not have completed. */
  pending?: { from: ChangePos; to: ChangePos };
}

/** A batch ready to publish. */
export interface ChangeBatch<R> {
  from: ChangePos;
  to: ChangePos;
  records: R[];
}

interface CommittedTxn {
  lsn: bigint;
  /** Index of its last change, -1 for a transaction without changes for us. */
  lastSeq: number;
  endLsn: bigint;
}

/** Buffers changes and tracks what is durable. */
export class ChangeBatcher<R> {
  private acked: ChangePos | undefined;
  private pending: { from: ChangePos; to: ChangePos } | undefined;
  private buffer: { pos: ChangePos; record: R }[] = [];
  private firstAt = 0;
  /** Committed transactions whose changes are not all acknowledged by JetStream yet, in commit order. */
  private readonly waiting: CommittedTxn[] = [];
  private flushable: bigint;
  /** Commit LSN of the transaction whose changes are buffered but whose commit has not come yet. */
  private open: bigint | undefined;
  /** Changes of the open transaction in the buffer. */
  private openSize = 0;

  constructor(
    resume: BatcherResume,
    private readonly maxRecords: number,
    /** Where the slot already is: never report less. */
    confirmed: bigint,
    /** A transaction with more changes than this is cut into several batches (bounds memory). */
    readonly maxTxnRecords = Math.max(100_000, maxRecords * 100),
  ) {
    this.acked = resume.acked;
    this.pending = resume.pending;
    this.flushable = confirmed;
  }

  /** Whether `pos` was published before (a replay after restart): skip it. */
  isPublished(pos: ChangePos): boolean {
    return this.acked !== undefined && comparePos(pos, this.acked) <= 0;
  }

  /**
   * Whether the buffer must be published before `pos` is added: only when an interrupted batch's
   * last change did not come back (e.g. its table left the publication) and `pos` is past it.
   */
  mustFlushBefore(pos: ChangePos): boolean {
    return this.pending !== undefined && this.buffer.length > 0 && comparePos(pos, this.pending.to) > 0;
  }

  /** Adds a change not published before. */
  add(pos: ChangePos, record: R, now = Date.now()): void {
    if (this.buffer.length === 0) this.firstAt = now;
    if (this.open !== pos.lsn) this.openSize = 0;
    this.open = pos.lsn;
    this.openSize++;
    this.buffer.push({ pos, record });
  }

  /** Whether the buffer ends inside a transaction (its commit has not come yet). */
  get inTransaction(): boolean {
    return this.open !== undefined;
  }

  /** Whether the open transaction outgrew `maxTxnRecords`: it is cut here, in several batches. */
  get oversized(): boolean {
    return this.open !== undefined && this.openSize >= this.maxTxnRecords;
  }

  /**
   * Whether a batch is due now: at least `maxRecords` at a transaction's end (or an oversized
   * transaction's cut), or the interrupted batch rebuilt completely.
   */
  get full(): boolean {
    if (this.buffer.length === 0) return false;
    if (this.pending) return comparePos(this.buffer[this.buffer.length - 1]!.pos, this.pending.to) >= 0;
    return (this.buffer.length >= this.maxRecords && this.open === undefined) || this.oversized;
  }

  /** Whether a partial batch has waited `intervalMs` (never inside a transaction, nor while an interrupted batch is rebuilt). */
  due(intervalMs: number, now = Date.now()): boolean {
    const at = this.dueAt(intervalMs);
    return at !== undefined && now >= at;
  }

  /** When a partial batch becomes due, or undefined when none is buffered (or it ends inside a transaction). */
  dueAt(intervalMs: number): number | undefined {
    return this.buffer.length > 0 && !this.pending && this.open === undefined ? this.firstAt + intervalMs : undefined;
  }

  /** Changes buffered. */
  get size(): number {
    return this.buffer.length;
  }

  /** Takes the buffered changes as a batch; an interrupted batch keeps its recorded range (and so its ID). */
  take(): ChangeBatch<R> | undefined {
    if (this.buffer.length === 0) return undefined;
    const range = this.pending ?? { from: this.buffer[0]!.pos, to: this.buffer[this.buffer.length - 1]!.pos };
    const batch = { ...range, records: this.buffer.map((b) => b.record) };
    this.buffer = [];
    this.pending = undefined;
    this.openSize = 0;
    return batch;
  }

  /** Records that JetStream acknowledged everything up to `to`. */
  published(to: ChangePos): void {
    this.acked = to;
    this.settle();
  }

  /** Records a transaction's commit: `changes` is how many changes it had for us, `endLsn` where its commit record ends. */
  committed(lsn: bigint, changes: number, endLsn: bigint): void {
    if (this.open === lsn) this.open = undefined;
    this.openSize = 0;
    this.waiting.push({ lsn, lastSeq: changes - 1, endLsn });
    this.settle();
  }

  /** Nothing buffered and no committed transaction waiting: a heartbeat's LSN may be reported. */
  get idle(): boolean {
    return this.buffer.length === 0 && this.waiting.length === 0;
  }

  /** Moves the reported position to `lsn` when idle (heartbeats and keepalives of an idle stream). */
  idleAt(lsn: bigint): void {
    if (this.idle && lsn > this.flushable) this.flushable = lsn;
  }

  /** The LSN PostgreSQL may consider flushed: the end of the last transaction fully acknowledged. */
  get flushLsn(): bigint {
    return this.flushable;
  }

  /** The last acknowledged change. */
  get ackedPos(): ChangePos | undefined {
    return this.acked;
  }

  private settle(): void {
    while (this.waiting.length > 0) {
      const t = this.waiting[0]!;
      const done = t.lastSeq < 0 || (this.acked !== undefined && comparePos({ lsn: t.lsn, seq: t.lastSeq }, this.acked) <= 0);
      if (!done) return;
      if (t.endLsn > this.flushable) this.flushable = t.endLsn;
      this.waiting.shift();
    }
  }
}
