import { compileExpression, LIMITS } from './expression';

/** Runs `fn` with a short time limit, so the runaway tests stay short; other tests keep the default. */
async function withShortLimit(fn: () => Promise<void>): Promise<void> {
  const saved = LIMITS.timeoutMs;
  LIMITS.timeoutMs = 250;
  try {
    await fn();
  } finally {
    LIMITS.timeoutMs = saved;
  }
}

const compile = (src: string) => compileExpression(src, 'test', 'a-key-of-sixteen-chars');

describe('compileExpression', () => {
  it('evaluates simple expressions synchronously and others through JSONata, with the same answers', async () => {
    expect(compile('a * 2').evaluate({ a: 21 })).toBe(42);
    const slow = compile('$sum(items.price)').evaluate({ items: [{ price: 1 }, { price: 2 }] });
    expect(slow).toBeInstanceOf(Promise);
    expect(await slow).toBe(3);
  });

  it('names the spec location of a syntax error', () => {
    expect(() => compileExpression('a +', 'datasets.d.steps[0].map.x', 'k'.repeat(16))).toThrow(
      /datasets\.d\.steps\[0\]\.map\.x: invalid expression "a \+"/,
    );
  });

  it('stops an expression that recurses forever with a step error instead of hanging or crashing', () =>
    withShortLimit(async () => {
      const e = compile('($f := function($x) { $f($x) }; $f(1))');
      await expect(Promise.resolve(e.evaluate({}))).rejects.toMatchObject({
        code: 'TRIB_E_STEP',
        message: expect.stringMatching(/nested deeper|longer than/),
      });
    }));

  it('stops an expression that loops for too long', () =>
    withShortLimit(async () => {
      const e = compile('($loop := function($n) { $n > 0 ? $loop($n - 1) : 0 }; $count([1..1000000].($loop(50))))');
      await expect(Promise.resolve(e.evaluate({}))).rejects.toMatchObject({
        code: 'TRIB_E_STEP',
        message: expect.stringMatching(/longer than/),
      });
    }));

  it('keeps evaluations of one expression independent when they run concurrently', async () => {
    const e = compile('$sum(xs)');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => e.evaluate({ xs: [i, i] })));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
  });

  it('registers $distance_km: great-circle kilometres, undefined when a coordinate is missing', async () => {
    // Amsterdam to New York is about 5,860 km.
    expect(await compile('$round($distance_km(52.37, 4.90, 40.71, -74.01))').evaluate({})).toBeCloseTo(5861, -1);
    expect(await compile('$distance_km(lat, 4.9, plat, 5)').evaluate({ lat: 52 })).toBeUndefined();
  });
});
