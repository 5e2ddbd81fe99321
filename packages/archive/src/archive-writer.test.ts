import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { decodeArchive } from './archive-codec';
import { LocalArchiveStore } from './local-archive-store';
import { writeArchive, type ArchiveInput } from './archive-writer';

const day1 = Date.UTC(2026, 2, 1, 12);
const day2 = Date.UTC(2026, 2, 2, 0, 30);
const input = (
  seq: number,
  name: string,
  ingestedAt = day1,
  redelivered = false,
  stage: 'raw' | 'processed' = 'processed',
): ArchiveInput => ({
  stage,
  name,
  seq,
  subject: `trib.${stage}.shop.${name}`,
  msgId: `m${seq}`,
  ingestedAt,
  headers: { 'Trib-Count': '1' },
  records: [JSON.stringify({ seq })],
  redelivered,
});

describe('writeArchive', () => {
  let dir: string;
  let store: LocalArchiveStore;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'trib-archive-'));
    store = new LocalArchiveStore(dir);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const seqsIn = async (): Promise<Record<string, number[]>> => {
    const out: Record<string, number[]> = {};
    for (const k of await store.list('')) out[k] = (await decodeArchive(k, await store.get(k))).map((m) => m.seq);
    return out;
  };

  it('writes one file per stage, name and day, named after its first and last sequence', async () => {
    const flush = await writeArchive(store, 'shop', { format: 'parquet' }, [
      input(5, 'orders'),
      input(2, 'orders'),
      input(3, 'items'),
      input(7, 'orders', day2),
      input(8, 'orders', day1, false, 'raw'),
    ]);
    expect(flush.files.map((f) => f.records)).toEqual([1, 2, 1, 1]); // in key order
    expect(await seqsIn()).toEqual({
      'shop/processed/items/date=2026-03-01/000000000003-000000000003.parquet': [3],
      'shop/processed/orders/date=2026-03-01/000000000002-000000000005.parquet': [2, 5],
      'shop/processed/orders/date=2026-03-02/000000000007-000000000007.parquet': [7],
      'shop/raw/orders/date=2026-03-01/000000000008-000000000008.parquet': [8],
    });
  });

  it('keeps each message once when a redelivery comes back as the same batch or regrouped with new messages', async () => {
    await writeArchive(store, 'shop', { format: 'ndjson' }, [input(10, 'orders'), input(12, 'orders')]);
    // Crash before the ack: the same batch again rewrites the same file.
    await writeArchive(store, 'shop', { format: 'ndjson' }, [input(10, 'orders', day1, true), input(12, 'orders', day1, true)]);
    // Redelivered next to new messages: only the new ones are written.
    const flush = await writeArchive(store, 'shop', { format: 'ndjson' }, [
      input(12, 'orders', day1, true),
      input(13, 'orders'),
      input(15, 'orders'),
    ]);
    expect(flush.alreadyArchived).toBe(1);
    expect(await seqsIn()).toEqual({
      'shop/processed/orders/date=2026-03-01/000000000010-000000000012.ndjson.gz': [10, 12],
      'shop/processed/orders/date=2026-03-01/000000000013-000000000015.ndjson.gz': [13, 15],
    });
  });
});
