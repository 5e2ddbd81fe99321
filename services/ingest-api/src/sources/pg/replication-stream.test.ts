import { PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { changeRecord, isoMicros, type TxnInfo } from './cdc-records';
import { formatLsn, parseLsn } from './lsn';
import { parseValue } from './pg-values';
import { RowDecoder, type RowChange } from './replication-stream';

// pgoutput protocol 1 messages, as PostgreSQL's docs lay them out ("Logical Replication Message Formats").
const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const int = (n: number, bytes: 1 | 2 | 4): Buffer => {
  const b = Buffer.alloc(bytes);
  b.writeIntBE(n, 0, bytes);
  return b;
};
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
type Col = { name: string; oid: number; key?: boolean };
const relation = (oid: number, name: string, cols: Col[]): Buffer =>
  Buffer.concat([
    Buffer.from('R'),
    int(oid, 4),
    str('public'),
    str(name),
    Buffer.from('d'),
    int(cols.length, 2),
    ...cols.map((c) => Buffer.concat([int(c.key ? 1 : 0, 1), str(c.name), int(c.oid, 4), int(-1, 4)])),
  ]);
/** A tuple: text values, null for SQL NULL, undefined for an unchanged TOASTed value. */
const tuple = (vals: (string | null | undefined)[]): Buffer =>
  Buffer.concat([
    int(vals.length, 2),
    ...vals.map((v) =>
      v === null
        ? Buffer.from('n')
        : v === undefined
          ? Buffer.from('u')
          : Buffer.concat([Buffer.from('t'), int(Buffer.byteLength(v), 4), Buffer.from(v, 'utf8')]),
    ),
  ]);
type Vals = (string | null | undefined)[];
const insert = (rel: number, vals: Vals): Buffer => Buffer.concat([Buffer.from('I'), int(rel, 4), Buffer.from('N'), tuple(vals)]);
const update = (rel: number, vals: Vals, before?: { sub: 'K' | 'O'; vals: Vals }): Buffer =>
  Buffer.concat([
    Buffer.from('U'),
    int(rel, 4),
    ...(before ? [Buffer.from(before.sub), tuple(before.vals)] : []),
    Buffer.from('N'),
    tuple(vals),
  ]);
const del = (rel: number, sub: 'K' | 'O', vals: Vals): Buffer =>
  Buffer.concat([Buffer.from('D'), int(rel, 4), Buffer.from(sub), tuple(vals)]);

const ORDERS: Col[] = [
  { name: 'id', oid: 20, key: true },
  { name: 'amount', oid: 1700 },
  { name: 'note', oid: 25 },
  { name: 'at', oid: 1184 },
  { name: 'doc', oid: 3802 },
  { name: 'tags', oid: 1009 },
];
const ODD: Col[] = [
  { name: 'id', oid: 23, key: true },
  { name: '__proto__', oid: 25 },
  { name: '_table', oid: 25 },
  { name: '_before', oid: 25 },
];

/** The messages of every shape the decoder handles, for the orders table (16400) and the odd one (16401). */
const messages: Buffer[] = [
  relation(16400, 'orders', ORDERS),
  relation(16401, 'odd', ODD),
  insert(16400, ['1', '12.50', 'naïve ☃ "quoted"\n', '2026-12-07 06:40:12.123456+00', '{"a": [1, 2.5, null]}', '{x,"y z"}']),
  insert(16400, ['9007199254740993', '12345678901234567.89', null, null, null, null]),
  update(16400, ['1', '13.00', 'paid', '2026-12-07 06:40:13+02', '{}', '{}']),
  update(16400, ['2', '1', 'moved', null, null, null], { sub: 'K', vals: ['1', null, null, null, null, null] }),
  update(16400, ['2', '2', undefined, null, null, null], { sub: 'O', vals: ['2', '1', 'kept as it was', null, null, null] }),
  del(16400, 'K', ['2', null, null, null, null, null]),
  del(16400, 'O', ['3', '4.5', 'gone', null, null, null]),
  insert(16401, ['7', 'not a prototype', 'a column', 'another']),
  update(16401, ['7', 'x', 'y', 'z'], { sub: 'O', vals: ['7', 'a', 'b', 'c'] }),
  del(16401, 'K', ['7', null, null, null]),
];

const txn: TxnInfo = { lsn: 0x16b374d848n, lsnText: formatLsn(0x16b374d848n), commitAt: isoMicros(1_796_000_000_123_456n) };

/** The records as they were made before `RowDecoder`: the library's parser, then a copy of the tuple with the metadata spread over it. */
function libraryRecords(): Record<string, unknown>[] {
  const parser = new PgoutputPlugin({ protoVersion: 1, publicationNames: [] });
  const out: Record<string, unknown>[] = [];
  for (const buf of messages) {
    const msg = parser.parse(buf);
    if (msg.tag === 'relation') {
      for (const col of msg.columns) {
        const oid = col.typeOid;
        col.parser = (text: string) => parseValue(oid, text);
      }
      continue;
    }
    const m = msg as Pgoutput.MessageInsert | Pgoutput.MessageUpdate | Pgoutput.MessageDelete;
    const meta = {
      _table: `${m.relation.schema}.${m.relation.name}`,
      _op: m.tag,
      _lsn: txn.lsnText,
      _seq: out.length,
      _commit_at: txn.commitAt,
    };
    if (m.tag === 'insert') out.push({ ...m.new, ...meta });
    else if (m.tag === 'update') {
      const before = m.old ?? m.key;
      out.push({ ...m.new, ...meta, ...(before ? { _before: { ...before } } : {}) });
    } else out.push({ ...(m.old ?? m.key ?? {}), ...meta });
  }
  return out;
}

function decodedRecords(): Record<string, unknown>[] {
  const decoder = new RowDecoder();
  const out: Record<string, unknown>[] = [];
  for (const buf of messages) {
    const ev = decoder.decode(buf, 0, 0n);
    if (ev.type === 'row') out.push(changeRecord(ev.change, txn, out.length));
  }
  return out;
}

describe('RowDecoder', () => {
  it("gives every change the record the library's parser gave: same keys, order, values and prototype", () => {
    const before = libraryRecords();
    const after = decodedRecords();
    expect(after).toHaveLength(10);
    expect(after).toStrictEqual(before);
    after.forEach((rec, i) => {
      expect(Object.keys(rec)).toEqual(Object.keys(before[i]!));
      expect(JSON.stringify(rec)).toBe(JSON.stringify(before[i]));
    });
    // A column named __proto__ is a column, not the record's prototype.
    expect(Object.getPrototypeOf(after[7])).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(after[7], '__proto__')).toBe(true);
    expect(JSON.stringify(after[7])).toContain('"__proto__":"not a prototype"');
    // An unchanged TOASTed value takes the old row's; the old row travels as _before.
    expect(after[4]).toMatchObject({ note: 'kept as it was', _before: { id: 2, note: 'kept as it was' } });
  });

  it('keeps a text value that starts with a byte order mark whole (the library decoded it away)', () => {
    const decoder = new RowDecoder();
    decoder.decode(relation(16400, 'orders', ORDERS), 0, 0n);
    const ev = decoder.decode(insert(16400, ['1', '1', '\uFEFFmark', null, null, null]), 0, 0n);
    expect(ev.type).toBe('row');
    expect((ev as { change: RowChange }).change.new!.note).toBe('\uFEFFmark');
  });

  it('decodes begin and commit positions and times as bigints', () => {
    const decoder = new RowDecoder();
    const begin = Buffer.concat([Buffer.from('B'), u64(0x16b374d848n), u64(849_000_000_123_456n), int(1234, 4)]);
    const commit = Buffer.concat([Buffer.from('C'), int(0, 1), u64(0x16b374d848n), u64(0x16b374d878n), u64(849_000_000_123_456n)]);
    const parser = new PgoutputPlugin({ protoVersion: 1, publicationNames: [] });
    const b = parser.parse(begin) as Pgoutput.MessageBegin;
    expect(decoder.decode(begin, 0, 0n)).toEqual({ type: 'begin', commitLsn: 0x16b374d848n, commitTime: b.commitTime });
    expect(parseLsn(b.commitLsn!)).toBe(0x16b374d848n);
    expect(decoder.decode(commit, 0, 0n)).toEqual({ type: 'commit', commitEndLsn: 0x16b374d878n });
  });

  it('refuses a change of a relation it has not seen', () => {
    expect(() => new RowDecoder().decode(insert(99, ['1']), 0, 0n)).toThrow('missing relation');
  });
});
