import { TributaryError } from '@tributary/contract/errors';
import { formatOf, parseBody, SUPPORTED_TYPES, type BodyFormat } from './parse-body';

const body = (text: string): Buffer => Buffer.from(text, 'utf8');

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

describe('formatOf', () => {
  it.each(Object.entries(SUPPORTED_TYPES))('maps %s to %s, with or without parameters and in any case', (type, format) => {
    expect(formatOf(type)).toBe(format);
    expect(formatOf(`${type}; charset=utf-8`)).toBe(format);
    expect(formatOf(type.toUpperCase())).toBe(format);
  });

  it('covers json, ndjson and csv', () => {
    expect(new Set(Object.values(SUPPORTED_TYPES))).toEqual(new Set<BodyFormat>(['json', 'ndjson', 'csv']));
  });

  it.each([['text/plain'], ['application/xml'], [''], [undefined]])('refuses %p with TRIB_E_UNSUPPORTED_MEDIA_TYPE', (type) => {
    const err = thrown(() => formatOf(type));
    expect(err.code).toBe('TRIB_E_UNSUPPORTED_MEDIA_TYPE');
    expect(err.status).toBe(415);
  });
});

describe('parseBody json', () => {
  it('returns the elements of an array, non-objects included for per-record rejection', () => {
    expect(parseBody(body('[{"a":1},{"b":[2]},3]'), 'json')).toEqual([{ a: 1 }, { b: [2] }, 3]);
  });

  it('wraps a single object as one record', () => {
    expect(parseBody(body('{"a":1}'), 'json')).toEqual([{ a: 1 }]);
  });

  it.each([['42'], ['"text"'], ['null'], ['true']])('refuses the scalar body %p', (text) => {
    expect(thrown(() => parseBody(body(text), 'json')).code).toBe('TRIB_E_PARSE');
  });

  it('reports where malformed JSON breaks as line and column', () => {
    const text = '[\n  {"a": 1},\n  {"b": 2,}\n]';
    const err = thrown(() => parseBody(body(text), 'json'));
    expect(err.code).toBe('TRIB_E_PARSE');
    expect(err.message).toContain('line 3, column 11');
    expect(err.location).toEqual({ line: 3, column: 11 });
  });

  it('counts the column from the start of the line on the first line too', () => {
    const err = thrown(() => parseBody(body('[{"a": tru}]'), 'json'));
    expect(err.message).toContain('line 1, column 8');
  });

  it('returns no records for an empty or blank body', () => {
    expect(parseBody(body(''), 'json')).toEqual([]);
    expect(parseBody(body(' \n\t'), 'json')).toEqual([]);
  });
});

describe('parseBody ndjson', () => {
  it('reads one value per line, skipping blank lines and tolerating CRLF', () => {
    expect(parseBody(body('{"a":1}\r\n\n   \n{"a":2}\r\n'), 'ndjson')).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('reports the number of the bad line, counting blank lines', () => {
    const err = thrown(() => parseBody(body('{"a":1}\n\n{"a":2}\n{"a":\n{"a":4}'), 'ndjson'));
    expect(err.code).toBe('TRIB_E_PARSE');
    expect(err.message).toContain('line 4');
    expect(err.location.line).toBe(4);
  });

  it('reads an application/json-seq body (RFC 7464: each record starts with an RS character)', () => {
    const text = '\x1e{"a":1}\n\x1e{"a":2}\n';
    expect(parseBody(body(text), formatOf('application/json-seq'))).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

describe('parseBody csv', () => {
  const types = { id: 'string', speed: 'number', lane: 'integer', ok: 'boolean', note: 'string' };

  it('maps header columns to fields, all strings without a types map', () => {
    expect(parseBody(body('id,speed\nA,12.5\nB,7\n'), 'csv')).toEqual([
      { id: 'A', speed: '12.5' },
      { id: 'B', speed: '7' },
    ]);
  });

  it('casts integers, numbers and booleans from the types map and leaves values that do not convert as strings', () => {
    const text = 'id,speed,lane,ok,note\nA,12.5,3,true,hi\nB,fast,-2,FALSE,x\nC,1e3,007,yes,y';
    expect(parseBody(body(text), 'csv', types)).toEqual([
      { id: 'A', speed: 12.5, lane: 3, ok: true, note: 'hi' },
      { id: 'B', speed: 'fast', lane: -2, ok: false, note: 'x' },
      { id: 'C', speed: 1000, lane: 7, ok: 'yes', note: 'y' },
    ]);
  });

  it('drops empty cells of non-string fields as missing and keeps them as empty strings for string fields', () => {
    expect(parseBody(body('id,speed,lane,ok,note\n001,,,,\n'), 'csv', types)).toEqual([{ id: '001', note: '' }]);
  });

  it('reads quoted fields containing commas, newlines and doubled quotes', () => {
    const text = 'id,note\n"1","a, b\nc ""q"""\n2,plain\n';
    expect(parseBody(body(text), 'csv', types)).toEqual([
      { id: '1', note: 'a, b\nc "q"' },
      { id: '2', note: 'plain' },
    ]);
  });

  it('refuses a row with the wrong number of columns with TRIB_E_PARSE naming its line', () => {
    const err = thrown(() => parseBody(body('id,note\n1,a\n2\n3,c\n'), 'csv'));
    expect(err.code).toBe('TRIB_E_PARSE');
    expect(err.message).toContain('line 3');
    expect(err.location.line).toBe(3);
  });

  it('refuses an unterminated quote with TRIB_E_PARSE', () => {
    expect(thrown(() => parseBody(body('id,note\n1,"open\n2,x\n'), 'csv')).code).toBe('TRIB_E_PARSE');
  });
});

describe('parseBody encoding', () => {
  it.each(['json', 'ndjson', 'csv'] as BodyFormat[])('refuses a body that is not valid UTF-8 (%s)', (format) => {
    const err = thrown(() => parseBody(Buffer.from([0x7b, 0x22, 0x61, 0xff, 0x22, 0x7d]), format));
    expect(err.code).toBe('TRIB_E_PARSE');
    expect(err.message).toMatch(/UTF-8/);
  });

  it('ignores a UTF-8 byte order mark in every format', () => {
    const bom = '\uFEFF';
    expect(parseBody(body(`${bom}[{"a":1}]`), 'json')).toEqual([{ a: 1 }]);
    expect(parseBody(body(`${bom}{"a":1}\n{"a":2}`), 'ndjson')).toEqual([{ a: 1 }, { a: 2 }]);
    expect(parseBody(body(`${bom}id,lane\nA,2`), 'csv', { id: 'string', lane: 'integer' })).toEqual([{ id: 'A', lane: 2 }]);
  });
});
