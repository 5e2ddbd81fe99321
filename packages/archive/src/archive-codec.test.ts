import { gzipSync } from 'node:zlib';
import { decodeArchive, encodeArchive, extensionOf, type ArchiveEncoding } from './archive-codec';
import type { ArchivedMessage } from './archived-message';

const msg = (seq: number, records: object[], extra: Record<string, string> = {}): ArchivedMessage => ({
  seq,
  subject: 'trib.processed.shop.orders',
  msgId: `shop/push:k${seq}:orders`,
  ingestedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  headers: { 'Trib-Pipeline': 'shop', 'Trib-Count': String(records.length), ...extra },
  records: records.map((r) => JSON.stringify(r)),
});

const messages = [
  msg(3, [
    { id: 1, note: 'é "quoted"\n' },
    { id: 2, amount: 1.5, tags: ['a'], nested: { x: null } },
  ]),
  msg(4, [], { 'Trib-Filtered': '7' }), // everything filtered: kept as a message without records
  msg(9, [{ id: 3 }]),
];

describe('archive file codec', () => {
  const encodings: ArchiveEncoding[] = [
    { format: 'parquet', compression: undefined },
    { format: 'parquet', compression: 'gzip' },
    { format: 'parquet', compression: 'none' },
    { format: 'ndjson', compression: undefined },
    { format: 'ndjson', compression: 'none' },
  ];
  it.each(encodings)('gives back exactly the messages written (%o)', async (enc) => {
    const key = `shop/processed/orders/date=2026-01-02/000000000003-000000000009.${extensionOf(enc)}`;
    expect(await decodeArchive(key, await encodeArchive(enc, messages))).toEqual(messages);
  });

  it('names the file and the record of a malformed row', async () => {
    const key = 'shop/processed/orders/date=2026-01-02/1-2.ndjson.gz';
    const rows = [
      {
        stream_seq: 1,
        subject: 'trib.processed.shop.orders',
        msg_id: 'm1',
        record_index: 0,
        ingested_at: '2026-01-02T00:00:00Z',
        headers: {},
        record: { a: 1 },
      },
      {
        stream_seq: 1,
        subject: 'trib.processed.shop.orders',
        msg_id: 'm1',
        record_index: 2,
        ingested_at: '2026-01-02T00:00:00Z',
        headers: null,
        record: { a: 2 },
      },
    ];
    const body = gzipSync(rows.map((r) => JSON.stringify(r)).join('\n'));
    await expect(decodeArchive(key, body)).rejects.toMatchObject({
      code: 'TRIB_E_DECODE',
      message: `${key}: record 1: record_index 2 of message m1: expected 1`,
      location: { file: key, index: 1 },
    });
  });

  it('refuses a record that is not a JSON object, a truncated file, and a message missing records', async () => {
    const nd = 'a/processed/b/date=2026-01-02/1-1.ndjson';
    const row = (record: unknown) =>
      JSON.stringify({ stream_seq: 1, subject: 'trib.processed.a.b', msg_id: 'm', record_index: 0, ingested_at: 0, headers: {}, record });
    await expect(decodeArchive(nd, Buffer.from(row([1, 2])))).rejects.toThrow(`${nd}: record 0: record must be a JSON object`);
    await expect(decodeArchive(nd, Buffer.from(`${row({ a: 1 })}\n{"stream_seq":`))).rejects.toThrow(`${nd}: record 1: not JSON`);

    const pq = 'shop/processed/orders/date=2026-01-02/000000000003-000000000009.parquet';
    const whole = await encodeArchive({ format: 'parquet' }, messages);
    await expect(decodeArchive(pq, whole.subarray(0, whole.byteLength - 20))).rejects.toThrow(`${pq}: not a readable Parquet file`);

    const short = [{ ...messages[0]!, records: messages[0]!.records.slice(0, 1) }];
    const gz = 'shop/processed/orders/date=2026-01-02/3-3.ndjson.gz';
    await expect(decodeArchive(gz, await encodeArchive({ format: 'ndjson' }, short))).rejects.toThrow(
      `${gz}: message shop/push:k3:orders (stream sequence 3) declares 2 records (Trib-Count) but the file holds 1`,
    );
    await expect(decodeArchive(gz, Buffer.from('not gzip'))).rejects.toThrow(`${gz}: not a readable gzip file`);
  });
});
