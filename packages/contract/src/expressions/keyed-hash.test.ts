import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { hmacSha256Hex } from './keyed-hash';

describe('hmacSha256Hex', () => {
  it('equals createHmac for any key and value, including keys longer than a block and non-ASCII text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 100 }), fc.string({ maxLength: 50 }), (key, value) => {
        expect(hmacSha256Hex(key)(value)).toBe(createHmac('sha256', key).update(value).digest('hex'));
      }),
    );
    const long = 'k'.repeat(200);
    expect(hmacSha256Hex(long)('ÄÖ😀')).toBe(createHmac('sha256', long).update('ÄÖ😀').digest('hex'));
  });
});
