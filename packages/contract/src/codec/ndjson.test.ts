import { TributaryError } from '../errors';
import { decodeNdjson, encodeLine, encodeNdjson } from './ndjson';

/** The TributaryError `fn` throws. */
function thrown(fn: () => unknown): TributaryError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TributaryError);
    return err as TributaryError;
  }
  throw new Error('expected an error, got none');
}

const bytes = (text: string): Uint8Array => Buffer.from(text, 'utf8');

describe('NDJSON codec', () => {
  it('round-trips records, including strings with newlines and non-ASCII text', () => {
    const records = [{ a: 1, b: 'two\nlines' }, { nested: { list: [1, null, true] } }, { city: 'Zürich ✓', empty: '' }, {}];
    expect(decodeNdjson(encodeNdjson(records))).toEqual(records);
  });

  it('writes one JSON document per line with no trailing newline', () => {
    expect(Buffer.from(encodeNdjson([{ a: 1 }, { b: 'x\ny' }])).toString('utf8')).toBe('{"a":1}\n{"b":"x\\ny"}');
  });

  it('encodes a single line exactly as it appears in a batch', () => {
    const rec = { a: 'é', n: 1.5 };
    expect(encodeLine(rec)).toBe(Buffer.from(encodeNdjson([rec])).toString('utf8'));
  });

  it('encodes no records as an empty body and decodes an empty body as no records', () => {
    expect(encodeNdjson([])).toHaveLength(0);
    expect(decodeNdjson(new Uint8Array(0))).toEqual([]);
  });

  it('skips blank lines and tolerates a trailing newline and CRLF line ends', () => {
    expect(decodeNdjson(bytes('{"a":1}\r\n\n  \n{"a":2}\n'))).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('decodes only the bytes of a view into a larger buffer', () => {
    const whole = bytes('xx{"a":1}\n{"a":2}yy');
    expect(decodeNdjson(whole.subarray(2, whole.length - 2))).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('refuses a line that is not JSON with TRIB_E_DECODE naming the line', () => {
    const err = thrown(() => decodeNdjson(bytes('{"a":1}\n\n{"a":\n{"a":3}')));
    expect(err.code).toBe('TRIB_E_DECODE');
    expect(err.message).toMatch(/^line 3: /);
    expect(err.location.line).toBe(3);
  });

  it.each([['[1,2]'], ['42'], ['"text"'], ['null'], ['true']])('refuses the non-object line %p with TRIB_E_DECODE', (line) => {
    const err = thrown(() => decodeNdjson(bytes(`{"ok":1}\n${line}`)));
    expect(err.code).toBe('TRIB_E_DECODE');
    expect(err.message).toBe('line 2: a record must be a JSON object');
    expect(err.location.line).toBe(2);
  });
});
