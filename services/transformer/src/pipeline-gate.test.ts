import { CircuitBreaker } from './pipeline-gate';

const bad = (n: number) => Array.from({ length: n }, () => ({ code: 'TRIB_E_STEP', message: 'amount is not a number' }));

describe('circuit breaker', () => {
  const t0 = 1_000_000;

  it('trips past the failure rate once enough records were seen, naming the commonest error', () => {
    const b = new CircuitBreaker({ failure_rate: 0.5, min_records: 100, window: 60_000 });
    expect(b.note(50, bad(50), t0)).toBeUndefined(); // all bad, but too few records
    expect(b.note(40, bad(10), t0 + 1_000)).toBeUndefined(); // 60 of 90
    expect(b.note(20, bad(10), t0 + 2_000)).toEqual({
      failed: 70,
      records: 110,
      threshold: 0.5,
      windowMs: 60_000,
      code: 'TRIB_E_STEP',
      sample: 'amount is not a number',
    });
  });

  it('forgets what is older than its window, and stays shut at or below the rate', () => {
    const b = new CircuitBreaker({ failure_rate: 0.5, min_records: 100, window: 10_000 });
    expect(b.note(100, bad(100), t0)).toBeDefined();
    b.reset();
    expect(b.note(100, bad(50), t0)).toBeUndefined(); // exactly 50%: not past it
    expect(b.note(60, bad(0), t0 + 5_000)).toBeUndefined();
    // The first 100 (50 bad) fall out of the window: 60 good + 100 with 90 bad = 90 of 160.
    expect(b.note(100, bad(90), t0 + 11_000)).toMatchObject({ failed: 90, records: 160 });
  });
});
