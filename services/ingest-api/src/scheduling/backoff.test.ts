import { backoffDelay, sleep } from './backoff';

describe('backoffDelay', () => {
  it('doubles the ceiling per attempt up to the maximum, with full jitter below it', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, 100, 1000, top))).toEqual([99, 199, 399, 799, 999]);
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0);
  });
});

describe('sleep', () => {
  it('rejects with the abort reason when the signal aborts', async () => {
    const ctl = new AbortController();
    const p = sleep(60_000, ctl.signal);
    ctl.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });

  it('rejects at once on an already aborted signal', async () => {
    await expect(sleep(1, AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
  });

  it('resolves after the delay without a signal', async () => {
    await expect(sleep(1)).resolves.toBeUndefined();
  });
});
