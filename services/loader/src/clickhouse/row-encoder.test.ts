import type { FieldDef } from '@tributary/contract/spec';
import { encodeRow } from './row-encoder';

const f = (name: string, type: FieldDef['type']): FieldDef => ({ name, type, required: false });
const FIELDS = [
  f('s', 'string'),
  f('i', 'integer'),
  f('n', 'number'),
  f('b', 'boolean'),
  f('t', 'timestamp'),
  f('d', 'date'),
  f('j', 'json'),
];
const origin = { msgId: 'm:1', index: 4, ingestedAt: Date.UTC(2026, 0, 1, 0, 0, 1, 999) };

describe('encodeRow', () => {
  it('writes each type as ClickHouse reads it, with the bookkeeping columns', () => {
    const line = encodeRow(
      FIELDS,
      { s: 'a"b', i: 9_007_199_254_740_991, n: 1.5, b: true, t: '2026-01-01T00:00:01.999Z', d: '2026-01-01', j: { k: [1] } },
      origin,
    );
    expect(line).toBe(
      '{"s":"a\\"b","i":9007199254740991,"n":1.5,"b":1,"t":1767225601,"d":"2026-01-01","j":"{\\"k\\":[1]}","_msg_id":"m:1","_record":4,"_ingested_at":1767225601,"_source_time":null}\n',
    );
    expect(JSON.parse(line)).toMatchObject({ s: 'a"b', b: 1 });
  });

  it('writes the source time in whole seconds, cut down', () => {
    expect(JSON.parse(encodeRow(FIELDS, {}, { ...origin, sourceTime: '2026-01-01T00:00:01.999999Z' }))._source_time).toBe(1767225601);
  });

  it('writes missing and null values as null', () => {
    expect(JSON.parse(encodeRow(FIELDS, { s: null }, origin))).toMatchObject({ s: null, i: null, t: null, j: null });
  });

  it('replaces lone surrogates as UTF-8 encoding does', () => {
    expect(JSON.parse(encodeRow([f('s', 'string')], { s: 'a\uD83Db' }, origin)).s).toBe('a\uFFFDb');
  });

  it.each([
    ['i', 1e21, /field "i": 1e\+21 is out of the Int64 range/],
    ['i', 1.5, /field "i": 1\.5 is not an integer/],
    ['n', 'abc', /field "n": "abc" is not a finite number/],
    ['b', 'yes', /field "b": "yes" is not a boolean/],
    ['t', '1969-12-31T23:59:59.000Z', /outside 1970-01-01\.\.2105-12-31, the range of a ClickHouse DateTime/],
    ['t', 'soon', /field "t": "soon" is not a timestamp/],
    ['d', '2106-01-01', /the range of a ClickHouse Date/],
    ['s', { a: 1 }, /field "s": \{"a":1\} is not a string/],
  ])('refuses %s = %p, naming the field', (field, value, message) => {
    let err: unknown;
    try {
      encodeRow(FIELDS, { [field]: value }, origin);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'TRIB_E_LOAD_REJECTED', location: { field } });
    expect((err as Error).message).toMatch(message);
  });
});
