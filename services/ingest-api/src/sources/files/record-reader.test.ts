import { Readable } from 'node:stream';
import { FileFormatError, formatFor, readCsvWithCsvParse, readItems, type FileItem, type ReadOptions } from './record-reader';

const BASE: ReadOptions = { format: 'csv', csv: { delimiter: ',', quote: '"', header: true }, mapping: {}, types: undefined };

/** Reads everything, feeding the text in small chunks so items straddle chunk boundaries. */
async function read(text: string, o: Partial<ReadOptions>, chunk = 3, reader = readItems): Promise<FileItem[]> {
  const parts: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  const out: FileItem[] = [];
  for await (const item of reader(Readable.from(parts), { ...BASE, ...o })) out.push(item);
  return out;
}

describe('readItems: CSV', () => {
  it('maps headers, types cells from the schema, and reports bad rows in line order while good rows go on', async () => {
    const text = 'Order ID,qty,paid,note\n1,2,true,ok\n2,x\n3,4,false,"multi\nline"\n4,5,TRUE,\n';
    const items = await read(text, {
      mapping: { 'Order ID': 'order_id' },
      types: { order_id: 'integer', qty: 'integer', paid: 'boolean', note: 'string' },
    });
    expect(items).toEqual([
      { line: 2, record: { order_id: 1, qty: 2, paid: true, note: 'ok' } },
      { line: 3, error: expect.stringContaining('Invalid Record Length'), raw: '2,x\n' },
      { line: 5, record: { order_id: 3, qty: 4, paid: false, note: 'multi\nline' } },
      { line: 6, record: { order_id: 4, qty: 5, paid: true, note: '' } },
    ]);
  });

  it('numbers every line exactly through a long file with quoted line breaks, blank lines and bad rows', async () => {
    // Line numbers are read from the parser as it emits each record; 10,000 rows in 4 KiB chunks
    // cross many chunk boundaries and the reader's bookkeeping of pending lines.
    const rows = ['id,note'];
    const expected: unknown[] = [];
    for (let i = 1; i <= 10_000; i++) {
      if (i % 997 === 0) {
        rows.push(`${i}`); // one cell: a bad row
        expected.push({ line: rows.length, error: expect.stringContaining('Invalid Record Length'), raw: `${i}\n` });
      } else if (i % 101 === 0) {
        rows.push(`${i},"two`, `lines"`);
        expected.push({ line: rows.length, record: { id: String(i), note: 'two\nlines' } });
      } else {
        if (i % 89 === 0) rows.push('');
        rows.push(`${i},n${i}`);
        expected.push({ line: rows.length, record: { id: String(i), note: `n${i}` } });
      }
    }
    expect(await read(`${rows.join('\n')}\n`, {}, 4096)).toEqual(expected);
  });

  it('leaves a cell that does not convert as text, for the schema check to reject by field', async () => {
    const items = await read('qty\nmany\n', { types: { qty: 'integer' } });
    expect(items).toEqual([{ line: 2, record: { qty: 'many' } }]);
  });

  it('reads a file without a header row with the configured column names', async () => {
    const items = await read('1;a\n2;b\n', { csv: { delimiter: ';', quote: '"', header: false, columns: ['id', 'name'] } });
    expect(items.map((i) => ('record' in i ? i.record : i))).toEqual([
      { id: '1', name: 'a' },
      { id: '2', name: 'b' },
    ]);
  });
});

/** Items with every record as JSON text, for comparing the two CSV paths. */
const asText = (items: FileItem[]): FileItem[] => items.map((i) => ('record' in i ? { line: i.line, json: JSON.stringify(i.record) } : i));

/** A small deterministic generator (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('readItems: CSV as JSON text', () => {
  it('writes simple rows as JSON text, bad rows as errors with line and raw text', async () => {
    const text = '\uFEFFOrder ID,qty,note\n1,2,a\\b\t\n\n2,x\n3,4,\u00e9\u{1F600}\n4,5,6,7';
    const o = { mapping: { 'Order ID': 'order_id' } };
    const items = await read(text, { ...o, json: true });
    expect(items).toEqual(asText(await read(text, o)));
    expect(items).toEqual([
      { line: 2, json: '{"order_id":"1","qty":"2","note":"a\\\\b\\t"}' },
      // csv-parse's raw text of a row starts with the empty lines before it.
      { line: 4, error: 'Invalid Record Length: columns length is 3, got 2 on line 4', raw: '\n2,x\n' },
      { line: 5, json: '{"order_id":"3","qty":"4","note":"\u00e9\u{1F600}"}' },
      { line: 6, error: 'Invalid Record Length: columns length is 3, got 4 on line 6', raw: '4,5,6,7' },
    ]);
  });

  it('goes on with csv-parse from the first quoted line, numbering lines as csv-parse does', async () => {
    const text = 'id,note\n1,a\n\n2,"b\nc"\n3,d\n4\n5,"e""f"\n';
    const items = await read(text, { json: true });
    expect(items).toEqual(asText(await read(text, {})));
    expect(items).toEqual([
      { line: 2, json: '{"id":"1","note":"a"}' },
      { line: 5, json: '{"id":"2","note":"b\\nc"}' },
      { line: 6, json: '{"id":"3","note":"d"}' },
      { line: 7, error: 'Invalid Record Length: columns length is 2, got 1 on line 7', raw: '4\n' },
      { line: 8, json: '{"id":"5","note":"e\\"f"}' },
    ]);
  });

  it('gives the same items as csv-parse for random files, as text or as typed objects, whatever the chunk size', async () => {
    // Mostly simple rows, with every so often a quoted cell, a quote inside a cell, a CRLF, an
    // empty line, a row of the wrong length; headers with repeated or numeric names; no header.
    const next = random(18);
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)]!;
    const cell = (): string =>
      next() < 0.97
        ? pick(['1', 'ab', '', ' x ', '-2.50', 'é', '\\', '\t', '\u{1F600}', 'TRUE', 'false', '12345678901234567890.5', ' 7'])
        : pick([
            '"q"',
            '"a,b"',
            '"l\n2"',
            'a"b',
            '"x"y',
            '""',
            '"unclosed',
            "'s'",
            "'a;b'",
            "'u",
            '"d""q"',
            '"e"""',
            '"" ',
            ' "q"',
            '"a""',
          ]);
    for (let round = 0; round < 200; round++) {
      const header =
        round % 10 === 0
          ? pick([
              ['a', 'a', 'b'],
              ['1', 'b'],
              ['__proto__', 'b'],
              ['"h"', 'b'],
            ])
          : ['a', 'b', 'c'];
      const csv = round % 7 === 0 ? { delimiter: ';', quote: "'", header: false, columns: ['x', 'y', 'z'] } : BASE.csv;
      const width = csv.header ? header.length : 3;
      const rows = csv.header ? [header.join(csv.delimiter)] : [];
      for (let r = 0, n = Math.floor(next() * 60); r < n; r++) {
        const roll = next();
        if (roll < 0.03) rows.push('');
        else {
          const cells = Array.from({ length: roll < 0.06 ? width + pick([-1, 1]) : width }, cell);
          rows.push(cells.join(csv.delimiter) + (next() < 0.01 ? '\r' : ''));
        }
      }
      const text = rows.join('\n') + (next() < 0.5 ? '\n' : '');
      const chunk = pick([2, 3, 7, 64, 4096]);
      // As JSON text (no schema), or as objects typed by a schema.
      const types = round % 2 === 0 ? { a: 'integer', bee: 'number', c: 'boolean', x: 'number', why: 'string' } : undefined;
      const o = { csv, mapping: { b: 'bee', y: 'why' }, types, json: round % 4 !== 2 };
      const want = await read(text, o, chunk, readCsvWithCsvParse);
      expect({ round, text, items: await read(text, o, chunk) }).toEqual({ round, text, items: o.json ? asText(want) : want });
    }
  });
});

describe('readItems: NDJSON', () => {
  it('reads one record per line, numbering lines from 1 and skipping blank ones; bad lines are errors', async () => {
    const items = await read('{"a":1}\n\n{"a":2\n[1]\n{"b":3}\r\n', { format: 'ndjson', mapping: { b: 'bee' } });
    expect(items).toEqual([
      { line: 1, record: { a: 1 } },
      { line: 3, error: expect.stringContaining('invalid JSON'), raw: '{"a":2' },
      { line: 4, error: 'not a JSON object', raw: '[1]' },
      { line: 5, record: { bee: 3 } },
    ]);
  });
});

describe('readItems: NDJSON and JSON as JSON text', () => {
  it('hands on one-line texts as they are (every digit kept), renamed or multi-line ones serialised; bad ones are errors as before', async () => {
    const text = '{"a": 1.50, "n": 12345678901234567890123}\n{"a":2\n[1]\n';
    expect(await read(text, { format: 'ndjson', json: true })).toEqual([
      { line: 1, json: '{"a": 1.50, "n": 12345678901234567890123}' },
      { line: 2, error: expect.stringContaining('invalid JSON'), raw: '{"a":2' },
      { line: 3, error: 'not a JSON object', raw: '[1]' },
    ]);
    expect(await read('{"b": 1}\n', { format: 'ndjson', json: true, mapping: { b: 'bee' } })).toEqual([{ line: 1, json: '{"bee":1}' }]);
    expect(await read('[{"a": 1},\n {"a":\n 2}]', { format: 'json', json: true })).toEqual([
      { line: 1, json: '{"a": 1}' },
      { line: 2, json: '{"a":2}' },
    ]);
  });
});

describe('readItems: JSON', () => {
  it('streams the elements of an array with the line each starts on; a broken element is one error', async () => {
    const text = '[\n  {"a": 1, "s": "x}]\\"y"},\n  {"a": 2,, },\n  {"a": [3, {"b": 4}]},\n  7\n]\n';
    const items = await read(text, { format: 'json' }, 5);
    expect(items).toEqual([
      { line: 2, record: { a: 1, s: 'x}]"y' } },
      { line: 3, error: expect.stringContaining('invalid JSON'), raw: '{"a": 2,, }' },
      { line: 4, record: { a: [3, { b: 4 }] } },
      { line: 5, error: 'not a JSON object', raw: '7\n' },
    ]);
  });

  it('reads a single top-level object as one record', async () => {
    expect(await read('{"a": {"b": [1]}}', { format: 'json' })).toEqual([{ line: 1, record: { a: { b: [1] } } }]);
  });

  it('reports a truncated array: the unterminated element as an error, then the file as unreadable', async () => {
    const out: FileItem[] = [];
    await expect(
      (async () => {
        for await (const i of readItems(Readable.from([Buffer.from('[{"a":1},\n{"a":')]), { ...BASE, format: 'json' })) out.push(i);
      })(),
    ).rejects.toBeInstanceOf(FileFormatError);
    expect(out).toEqual([
      { line: 1, record: { a: 1 } },
      { line: 2, error: expect.stringContaining('ends inside') },
    ]);
  });

  it('refuses a document that is not an array or an object', async () => {
    await expect(read('hello', { format: 'json' })).rejects.toThrow('not a JSON array or object');
  });
});

describe('formatFor', () => {
  it.each([
    ['a.csv', 'csv'],
    ['a.JSON', 'json'],
    ['a.ndjson', 'ndjson'],
    ['a.jsonl', 'ndjson'],
    ['a.txt', undefined],
  ])('picks %s -> %s by extension', (name, want) => {
    expect(formatFor(name, 'auto')).toBe(want);
  });
});
