import { RateLimiter } from './rate-limiter';

describe('RateLimiter', () => {
  it('allows a burst, then refuses with the whole seconds until a token is free', () => {
    const limiter = new RateLimiter(0.25, 3); // one request every 4 s
    expect([0, 1, 2].map(() => limiter.take('a', 0))).toEqual([0, 0, 0]);
    expect(limiter.take('a', 0)).toBe(4);
    expect(limiter.take('a', 1000)).toBe(3);
  });

  it('rounds a sub-second wait up to one second', () => {
    const limiter = new RateLimiter(10, 1);
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBe(1);
  });

  it('refills tokens over time at the configured rate', () => {
    const limiter = new RateLimiter(10, 2);
    limiter.take('a', 0);
    limiter.take('a', 0);
    expect(limiter.take('a', 50)).toBeGreaterThan(0);
    expect(limiter.take('a', 150)).toBe(0); // 0.05 s + 0.1 s at 10/s: one token back
    expect(limiter.take('a', 150)).toBeGreaterThan(0);
  });

  it('never refills beyond the burst, however long the client was idle', () => {
    const limiter = new RateLimiter(1, 2);
    limiter.take('a', 0);
    const later = 3_600_000;
    expect([0, 1, 2].map(() => limiter.take('a', later))).toEqual([0, 0, 1]);
  });

  it('keeps a separate bucket per client', () => {
    const limiter = new RateLimiter(1, 1);
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBe(1);
    expect(limiter.take('b', 0)).toBe(0);
  });

  it('does not count refused requests against the client', () => {
    const limiter = new RateLimiter(1, 1);
    limiter.take('a', 0);
    for (let i = 0; i < 10; i++) limiter.take('a', 0);
    expect(limiter.take('a', 1000)).toBe(0);
  });

  it('is unlimited when the rate is 0', () => {
    const limiter = new RateLimiter(0, 1);
    for (let i = 0; i < 1000; i++) expect(limiter.take('a', 0)).toBe(0);
  });
});
