import { Readable } from 'node:stream';
import { FileFormatError, formatFor, readItems, type FileItem, type ReadOptions } from './record-reader';

const BASE: ReadOptions = { format: 'csv', csv: { delimiter: ',', quote: '"', header: true }, mapping: {}, types: undefined };

/** Reads everything, feeding the text in small chunks so items straddle chunk boundaries. */
async function read(text: string, o: Partial<ReadOptions>, chunk = 3): Promise<FileItem[]> {
  const parts: Buffer[] = [];
  const buf = Buffer.from(text);
  for (let i = 0; i < buf.length; i += chunk) parts.push(buf.subarray(i, i + chunk));
  const out: FileItem[] = [];
  for await (const item of readItems(Readable.from(parts), { ...BASE, ...o })) out.push(item);
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
