import { quotaHoldUntil, resetAt, retryAfterMs } from './rate-limit-headers';

const NOW = 1_700_000_000_000;

describe('rate limit headers', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2', NOW)).toBe(2000);
    expect(retryAfterMs(new Date(NOW + 5000).toUTCString(), NOW)).toBe(5000);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
  });

  it('reads a reset as epoch seconds, epoch milliseconds or seconds from now', () => {
    expect(resetAt(String((NOW + 3000) / 1000), NOW)).toBe(NOW + 3000);
    expect(resetAt(String(NOW + 3000), NOW)).toBe(NOW + 3000);
    expect(resetAt('3', NOW)).toBe(NOW + 3000);
  });

  it('holds after a 429 with Retry-After, or when the remaining quota is 0, and not otherwise', () => {
    expect(quotaHoldUntil(429, new Headers({ 'retry-after': '1' }), NOW)).toBe(NOW + 1000);
    expect(quotaHoldUntil(200, new Headers({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '2' }), NOW)).toBe(NOW + 2000);
    expect(quotaHoldUntil(200, new Headers({ 'ratelimit-remaining': '0', 'ratelimit-reset': '4' }), NOW)).toBe(NOW + 4000);
    expect(quotaHoldUntil(200, new Headers({ 'x-ratelimit-remaining': '3', 'x-ratelimit-reset': '2' }), NOW)).toBeUndefined();
    expect(quotaHoldUntil(429, new Headers({}), NOW)).toBeUndefined();
  });
});
