import { FIELD_TYPES, type FieldType } from '@tributary/contract/spec';
import { copyValue } from './copy-text';

/** A COPY text row: values joined by tabs, ended by a newline (as the table writer writes them). */
const copyLine = (values: string[]): string => `${values.join('\t')}\n`;

/** Reads one COPY text line back the way PostgreSQL does (only the escapes copyValue writes). */
function readCopyLine(line: string): (string | null)[] {
  expect(line.endsWith('\n')).toBe(true);
  return line
    .slice(0, -1)
    .split('\t')
    .map((cell) => (cell === '\\N' ? null : cell.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t', '\\': '\\' })[c] ?? c)));
}

describe('copyValue', () => {
  it.each(Object.keys(FIELD_TYPES) as FieldType[])('writes null and undefined as \\N for %s', (type) => {
    expect(copyValue(type, null)).toBe('\\N');
    expect(copyValue(type, undefined)).toBe('\\N');
  });

  it('leaves plain text as it is', () => {
    expect(copyValue('string', 'Zürich, lane 3')).toBe('Zürich, lane 3');
  });

  it('escapes backslash, tab, newline and carriage return', () => {
    expect(copyValue('string', 'a\\b\tc\nd\re')).toBe('a\\\\b\\tc\\nd\\re');
  });

  it('keeps a literal backslash-n apart from a newline', () => {
    expect(copyValue('string', '\\n')).toBe('\\\\n');
    expect(copyValue('string', '\n')).toBe('\\n');
  });

  it('writes the text \\N so that it does not read as NULL', () => {
    expect(copyValue('string', '\\N')).toBe('\\\\N');
    expect(readCopyLine(copyLine([copyValue('string', '\\N')]))).toEqual(['\\N']);
  });

  it('writes booleans as t and f', () => {
    expect(copyValue('boolean', true)).toBe('t');
    expect(copyValue('boolean', false)).toBe('f');
  });

  it('writes numbers in decimal form', () => {
    expect(copyValue('integer', -42)).toBe('-42');
    expect(copyValue('number', 0.125)).toBe('0.125');
    expect(copyValue('bigint', 9007199254740991)).toBe('9007199254740991');
  });

  it('writes json values as JSON text, escaped for COPY', () => {
    expect(copyValue('json', { a: 'x\ty', b: [1, null] })).toBe('{"a":"x\\\\ty","b":[1,null]}');
    expect(copyValue('json', 'text')).toBe('"text"');
    expect(copyValue('json', false)).toBe('false');
    expect(copyValue('json', 0)).toBe('0');
  });

  it('round-trips awkward strings and JSON through one COPY line', () => {
    const text = 'tab\there\\there\nnew\r\nline\\N';
    const json = { note: 'multi\nline "quoted" \\ back' };
    const line = copyLine([copyValue('string', text), copyValue('json', json), copyValue('text', null), copyValue('boolean', true)]);
    expect(line.split('\n')).toHaveLength(2); // exactly one line, newline-terminated
    const [t, j, n, b] = readCopyLine(line);
    expect(t).toBe(text);
    expect(JSON.parse(j!)).toEqual(json);
    expect(n).toBeNull();
    expect(b).toBe('t');
  });
});
