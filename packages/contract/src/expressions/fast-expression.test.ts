import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import jsonata from 'jsonata';
import { compileFast, FALLBACK, jsonataRound, shiftedRound } from './fast-expression';

const hmac = (v: unknown): unknown =>
  v === undefined || v === null ? v : createHmac('sha256', 'k').update(String(v)).digest('hex').slice(0, 32);

/** Expressions users write in `map` and `filter`, covering every construct the fast path compiles. */
const EXPRESSIONS = [
  '$round(speed_mph * 1.609344, 1)',
  '$round(speed_mph)',
  '$hmac(plate)',
  'speed_kmh > 0',
  'speed_kmh >= 100 and lane != 2',
  'lane = 1 or passengers > 3',
  'plate & "-" & gantry_id',
  'speed_mph ? "moving" : "stopped"',
  '-speed_mph + 3 / 2 - lane % 3',
  '$floor(speed_mph) + $ceil(speed_mph) - $abs(speed_mph)',
  '$lowercase(plate) = "ab12cde"',
  '$uppercase(gantry_id)',
  '$exists(note)',
  '$length(plate)',
  'nested.value * 2',
  'nested.deeper.x > 1',
  'note',
  'true and speed_kmh',
  'null',
  '"const"',
  'speed_mph < plate',
];

const scalar = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, 0.5, 1.5, 2.5, -0.5, 12.345, 1e21),
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof({ weight: 8, arbitrary: scalar }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) });
const record = fc.record(
  {
    speed_mph: value,
    speed_kmh: value,
    lane: value,
    passengers: value,
    plate: value,
    gantry_id: value,
    note: value,
    nested: fc.oneof(value, fc.record({ value, deeper: fc.oneof(value, fc.record({ x: value })) }, { requiredKeys: [] })),
  },
  { requiredKeys: [] },
);

/** JSONata's own answer, or an error marker. */
async function reference(src: string, rec: Record<string, unknown>): Promise<{ ok: true; v: unknown } | { ok: false }> {
  const e = jsonata(src);
  e.registerFunction('hmac', hmac, '<j-:s>');
  try {
    return { ok: true, v: await e.evaluate(rec) };
  } catch {
    return { ok: false };
  }
}

describe('fast JSONata subset', () => {
  it('compiles every expression of the corpus (so the fast path is really used)', () => {
    for (const src of EXPRESSIONS) expect(compileFast(jsonata(src).ast(), { hmac })).toBeDefined();
  });

  it('leaves constructs outside the subset to JSONata', () => {
    for (const src of ['items[price > 3]', '$sum(items.price)', 'items.{ "a": b }', '$map(xs, function($x) { $x * 2 })', 'a in [1, 2]']) {
      expect(compileFast(jsonata(src).ast(), { hmac })).toBeUndefined();
    }
  });

  it('gives the same value as JSONata for random records, or hands the record to JSONata', async () => {
    const compiled = EXPRESSIONS.map((src) => [src, compileFast(jsonata(src).ast(), { hmac })!] as const);
    let fastAnswers = 0;
    await fc.assert(
      fc.asyncProperty(record, async (rec) => {
        for (const [src, fn] of compiled) {
          let fast: { ok: true; v: unknown } | 'fallback';
          try {
            fast = { ok: true, v: fn(rec) };
          } catch (err) {
            if (err !== FALLBACK) throw err;
            fast = 'fallback';
          }
          if (fast === 'fallback') continue;
          fastAnswers++;
          const ref = await reference(src, rec);
          expect({ src, rec, value: ref.ok ? ref.v : 'error' }).toEqual({ src, rec, value: fast.v });
        }
      }),
      { numRuns: 400 },
    );
    expect(fastAnswers).toBeGreaterThan(2000);
  });

  it('rounds with decimals by arithmetic exactly as through the text, ties and near-ties included', async () => {
    const anyDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
    // Values at, next to and between ties at p decimals, and products like the bench's mph -> km/h.
    const nearTie = fc
      .tuple(fc.integer({ min: -20_000_000, max: 20_000_000 }), fc.integer({ min: 1, max: 15 }), fc.integer({ min: -3, max: 3 }))
      .map(([k, p, ulps]) => {
        let x = (k + 0.5) / 10 ** p;
        for (let i = 0; i < Math.abs(ulps); i++) x = ulps > 0 ? nextUp(x) : -nextUp(-x);
        return x;
      });
    const product = fc.integer({ min: 0, max: 2_000_000 }).map((n) => (n / 10) * 1.609344);
    const value = fc.oneof(
      anyDouble,
      nearTie,
      product,
      fc.integer({ min: -1e9, max: 1e9 }).map((n) => n / 1000),
    );
    fc.assert(
      fc.property(value, fc.integer({ min: -3, max: 17 }), (x, p) => {
        expect(Object.is(jsonataRound(x, p), shiftedRound(x, p))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    // And against JSONata's own $round, on fewer values (it evaluates asynchronously).
    const expr = jsonata('$round(x, p)');
    await fc.assert(
      fc.asyncProperty(value, fc.integer({ min: 0, max: 15 }), async (x, p) => {
        expect(jsonataRound(x, p)).toBe(await expr.evaluate({ x, p }));
      }),
      { numRuns: 500 },
    );
  });

  it('rounds half to even like JSONata', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5].map((x) => jsonataRound(x))).toEqual([0, 2, 2, 0, -2]);
    expect(jsonataRound(2.675, 2)).toBe(2.68);
    expect(jsonataRound(1.005, 2)).toBe(1);
    expect(jsonataRound(98.9, 0)).toBe(99);
  });
});

/** The next double above `x` (finite `x`). */
function nextUp(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  const b = new Float64Array([x]);
  const i = new BigInt64Array(b.buffer);
  i[0] = i[0]! + (x > 0 ? 1n : -1n);
  return b[0]!;
}
