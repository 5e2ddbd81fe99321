import { ChangeBatcher } from './change-batcher';
import { formatLsn, formatPos, parseLsn, parsePos } from './lsn';

const p = (lsn: number, seq: number) => ({ lsn: BigInt(lsn), seq });

describe('ChangeBatcher', () => {
  it('cuts batches by size and reports a transaction to PostgreSQL only once all its changes are acknowledged', () => {
    const b = new ChangeBatcher<string>({}, 2, 10n);
    b.add(p(100, 0), 'a');
    expect(b.full).toBe(false);
    b.add(p(100, 1), 'b');
    b.committed(100n, 3, 150n); // three changes: the third is still to come
    expect(b.full).toBe(true);
    const batch = b.take()!;
    expect(batch).toEqual({ from: p(100, 0), to: p(100, 1), records: ['a', 'b'] });
    b.published(batch.to);
    expect(b.flushLsn).toBe(10n); // change 100.2 is not acknowledged yet
  });

  it('advances the flush position past a transaction once its last change is acknowledged', () => {
    const b = new ChangeBatcher<string>({}, 10, 10n);
    b.add(p(100, 0), 'a');
    b.committed(100n, 1, 150n);
    b.add(p(200, 0), 'b');
    b.committed(200n, 1, 250n);
    const batch = b.take()!;
    b.published(batch.to);
    expect(b.flushLsn).toBe(250n);
    expect(b.idle).toBe(true);
  });

  it('after a restart skips acknowledged changes and rebuilds an interrupted batch with its recorded range', () => {
    const b = new ChangeBatcher<string>({ acked: p(100, 1), pending: { from: p(100, 2), to: p(300, 0) } }, 2, 0n);
    expect(b.isPublished(p(100, 0))).toBe(true);
    expect(b.isPublished(p(100, 1))).toBe(true);
    expect(b.isPublished(p(100, 2))).toBe(false);
    b.add(p(100, 2), 'c');
    b.add(p(200, 0), 'd');
    expect(b.full).toBe(false); // more than max_records, but the interrupted batch goes on to 300.0
    expect(b.due(0, Number.MAX_SAFE_INTEGER)).toBe(false); // and never leaves early on a timer
    b.add(p(300, 0), 'e');
    expect(b.full).toBe(true);
    expect(b.take()).toEqual({ from: p(100, 2), to: p(300, 0), records: ['c', 'd', 'e'] });
  });

  it('publishes an interrupted batch when a change past its end arrives without its last change', () => {
    const b = new ChangeBatcher<string>({ pending: { from: p(100, 0), to: p(100, 5) } }, 10, 0n);
    b.add(p(100, 0), 'a');
    expect(b.mustFlushBefore(p(200, 0))).toBe(true);
    expect(b.take()).toEqual({ from: p(100, 0), to: p(100, 5), records: ['a'] });
  });

  it('reports a heartbeat position only when nothing is buffered or waiting', () => {
    const b = new ChangeBatcher<string>({}, 10, 10n);
    b.add(p(100, 0), 'a');
    b.idleAt(500n);
    expect(b.flushLsn).toBe(10n);
    b.committed(100n, 1, 150n);
    b.published(b.take()!.to);
    b.idleAt(500n);
    expect(b.flushLsn).toBe(500n);
  });

  it('settles empty transactions in commit order behind pending ones', () => {
    const b = new ChangeBatcher<string>({}, 10, 0n);
    b.add(p(100, 0), 'a');
    b.committed(100n, 1, 150n);
    b.committed(200n, 0, 250n); // no changes for us, but after one not yet acknowledged
    expect(b.flushLsn).toBe(0n);
    b.published(b.take()!.to);
    expect(b.flushLsn).toBe(250n);
  });
});

describe('LSNs and positions', () => {
  it('round-trips PostgreSQL LSN text and sortable positions', () => {
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    expect(parseLsn('0/10')).toBe(16n);
    expect(formatPos({ lsn: parseLsn('16/B374D848'), seq: 3 })).toBe('00000016B374D848.3');
    expect(parsePos('00000016B374D848.3')).toEqual({ lsn: parseLsn('16/B374D848'), seq: 3 });
    expect(formatPos(p(0x2ff, 0)) < formatPos(p(0x300, 0))).toBe(true);
  });
});

describe('ChangeBatcher and source transactions', () => {
  it('ends a batch only where a transaction ends, on size and on the timer', () => {
    const b = new ChangeBatcher<string>({}, 2, 0n);
    b.add(p(100, 0), 'a', 0);
    b.add(p(100, 1), 'b', 0);
    b.add(p(100, 2), 'c', 0);
    expect(b.inTransaction).toBe(true);
    expect(b.full).toBe(false); // over max_records, but the transaction is still open
    expect(b.dueAt(50)).toBeUndefined(); // and no timer cuts it
    expect(b.due(50, 1_000)).toBe(false);
    b.committed(100n, 3, 150n);
    expect(b.full).toBe(true);
    expect(b.take()).toEqual({ from: p(100, 0), to: p(100, 2), records: ['a', 'b', 'c'] });
    b.add(p(200, 0), 'd', 10);
    b.committed(200n, 1, 250n);
    expect(b.full).toBe(false);
    expect(b.dueAt(50)).toBe(60);
  });

  it('cuts a transaction larger than maxTxnRecords', () => {
    const b = new ChangeBatcher<string>({}, 2, 0n, 3);
    b.add(p(100, 0), 'a');
    b.add(p(100, 1), 'b');
    expect(b.full).toBe(false);
    b.add(p(100, 2), 'c');
    expect(b.oversized).toBe(true);
    expect(b.full).toBe(true);
    expect(b.take()!.records).toEqual(['a', 'b', 'c']);
    b.add(p(100, 3), 'd');
    expect(b.full).toBe(false);
    b.committed(100n, 4, 150n);
    expect(b.full).toBe(false); // one change: below max_records, due on the timer
    expect(b.dueAt(0)).toBeDefined();
  });
});
