import fc from 'fast-check';
import { parse as parseLossless } from 'lossless-json';
import { decimalText, exactNumber, hasLongNumber, int64Value, isExactDouble, parseJsonExact } from './exact-values';

/** JSON text of values whose numbers are written as any JSON number (long ones too) and whose strings hold digits, quotes and backslashes. */
const numberText = fc.oneof(
  fc.stringMatching(/^-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?$/),
  // Doubles as JavaScript prints them (up to 17 digits, exponents to 308): long, yet exact.
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
);
const stringText = fc
  .string({ unit: fc.constantFrom('1', '9', '0', '.', 'e', 'E', '-', '+', '"', '\\', 'x', ':', ',', '[', ' ', '\n', 'é') })
  .map((s) => JSON.stringify(s));
const space = fc.constantFrom('', ' ', '\n', '\t ', '\r\n');
const { json: jsonText } = fc.letrec<{ json: string; leaf: string }>((tie) => ({
  leaf: fc.oneof(numberText, stringText, fc.constantFrom('true', 'false', 'null')),
  json: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc
      .tuple(fc.array(fc.tuple(space, tie('json'), space), { maxLength: 5 }))
      .map(([items]) => `[${items.map((x) => x.join('')).join(',')}]`),
    // Keys unique: lossless-json refuses a repeated key with another value.
    fc
      .uniqueArray(fc.tuple(stringText, space, tie('json')), { maxLength: 5, selector: ([k]) => k })
      .map((entries) => `{${entries.map(([k, s, v]) => `${k}${s}:${s}${v}`).join(',')}}`),
  ),
}));

describe('exact values', () => {
  it('parses JSON numbers a double holds as numbers and the others as their exact text', () => {
    const text = '{"a":0.1,"b":99999999999.99,"c":12345678901234567.891,"d":9007199254740993,"e":[1e400],"f":"12345678901234567890"}';
    expect(parseJsonExact(text)).toEqual({
      a: 0.1,
      b: 99999999999.99,
      c: '12345678901234567.891',
      d: '9007199254740993',
      e: ['1e400'],
      f: '12345678901234567890',
    });
    // The fast path (no long number in the text) is plain JSON.parse.
    expect(parseJsonExact('[1, 2.5, "x"]')).toEqual([1, 2.5, 'x']);
  });

  it('throws JSON.parse’s own error on bad JSON, on both paths', () => {
    expect(() => parseJsonExact('{"a": 1')).toThrow(SyntaxError);
    expect(() => parseJsonExact('{"a": 12345678901234567890')).toThrow(SyntaxError);
  });

  it('sends a text to the exact parse exactly when one of its numbers (not its strings) is long', () => {
    // The specification: a number token of 16 number characters from a digit on, or a 3-digit
    // exponent, unless it is the shortest text of the double it reads into.
    const longRe = /[0-9][0-9.eE+-]{15}|[eE][+-]?[0-9]{3}/;
    const long = { test: (t: string) => longRe.test(t) && String(Number(t)) !== t };
    fc.assert(
      fc.property(jsonText, (text) => {
        const numbers: string[] = [];
        const exact = parseLossless(text, null, (t) => (numbers.push(t), exactNumber(t)));
        expect(hasLongNumber(text)).toBe(numbers.some((t) => long.test(t)));
        expect(parseJsonExact(text)).toEqual(exact);
      }),
      { numRuns: 500 },
    );
    // Digits in strings (an ID carrying an epoch time) no longer count; in numbers they do.
    expect(hasLongNumber('{"id":"t1765076945123-12345","n":1}')).toBe(false);
    expect(hasLongNumber('{"id":"x\\"12345678901234567\\\\","n":12345678901234567}')).toBe(true);
    expect(hasLongNumber('{"id":"1e999","n":[1,2e300]}')).toBe(true);
    // A double's own text (a model's score, a float8 column) reads back exactly: the fast parse.
    expect(hasLongNumber('{"p":0.12345678901234568,"q":-1.2345678901234568e-7}')).toBe(false);
    expect(hasLongNumber('{"p":0.123456789012345678}')).toBe(true);
    expect(hasLongNumber('{"p":1.0000000000000000}')).toBe(true);
    expect(parseJsonExact('{"p":0.12345678901234568,"big":9007199254740993}')).toEqual({ p: 0.12345678901234568, big: '9007199254740993' });
  });

  it('tells exact doubles from inexact ones', () => {
    expect(isExactDouble('0.10')).toBe(true);
    expect(isExactDouble('9007199254740992')).toBe(true);
    expect(isExactDouble('9007199254740993')).toBe(false);
    expect(isExactDouble('0.30000000000000004')).toBe(true);
    expect(isExactDouble('0.300000000000000041')).toBe(false);
    expect(exactNumber(' 12.5 ')).toBe(12.5);
  });

  it('writes decimals with the scale’s digits and refuses what would need rounding or does not fit', () => {
    expect(decimalText('0.1', 12, 2)).toBe('0.10');
    expect(decimalText(0.3, 12, 2)).toBe('0.30');
    expect(decimalText('-0.00', 12, 2)).toBe('0.00');
    expect(decimalText('123.456')).toBe('123.456');
    expect((decimalText('1.234', 12, 2) as Error).message).toMatch(/more than 2 digits after the point/);
    expect((decimalText('1234567890123', 12, 2) as Error).message).toMatch(/more than 10 digits before the point/);
    expect(decimalText('abc')).toBeInstanceOf(Error);
  });

  it('keeps 64-bit integers exact and refuses what is no int64', () => {
    expect(int64Value('9223372036854775807')).toBe('9223372036854775807');
    expect(int64Value('42')).toBe(42);
    expect(int64Value('9223372036854775808')).toBeUndefined();
    expect(int64Value(1.5)).toBeUndefined();
    expect(int64Value('1e3')).toBeUndefined();
  });
});
