import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmacSha256Hex } from './keyed-hash';

const expected = (key: string, value: string): string => createHmac('sha256', key).update(value).digest('hex');

describe('hmacSha256Hex', () => {
  it('equals createHmac for any key and value, including keys longer than a block and non-ASCII text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.string({ maxLength: 50 }), (key, value) => {
        expect(hmacSha256Hex(key)(value)).toBe(expected(key, value));
      }),
    );
    const long = 'k'.repeat(200);
    expect(hmacSha256Hex(long)('ÄÖ😀')).toBe(expected(long, 'ÄÖ😀'));
  });

  it('equals createHmac for any UTF-16 text (lone surrogates included) and values of several blocks', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 80 }),
        fc.string({ unit: 'binary', maxLength: 300 }),
        fc.integer({ min: 0, max: 64 }),
        (key, value, digits) => {
          // One function hashes many values: state left from one must not leak into the next.
          const f = hmacSha256Hex(key, digits);
          expect(f(value)).toBe(expected(key, value).slice(0, digits));
          expect(f('')).toBe(expected(key, '').slice(0, digits));
          expect(f(value)).toBe(expected(key, value).slice(0, digits));
        },
      ),
    );
  });

  it('equals createHmac at every length around the block boundaries', () => {
    const f = hmacSha256Hex('bench-secret-key');
    for (let n = 0; n <= 200; n++) {
      for (const c of ['x', 'é', '😀']) {
        const v = c.repeat(n);
        expect(f(v)).toBe(expected('bench-secret-key', v));
      }
    }
    // Keys of exactly a block and one byte more.
    for (const key of ['k'.repeat(64), 'k'.repeat(65), '']) expect(hmacSha256Hex(key)('AB1234XY')).toBe(expected(key, 'AB1234XY'));
  });
});
