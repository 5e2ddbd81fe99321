/**
 * The world of card payments that the `generator: transactions` simulator (`transactions-simulator.ts`)
 * and the fraud model's labelled training world (`tools/ml/src/fraud-world.ts`) share: the cities
 * merchants are in, which of them are the cards' homes, the merchant categories, and the seeded
 * PRNG the training world draws from. One table, so a city's merchants have the same IDs in both.
 */

/** Cities the merchants are in: [name, country, lat, lon, currency]; the first HOME_CITIES are the cards' homes. */
export const CITIES: readonly (readonly [string, string, number, number, string])[] = [
  ['Amsterdam', 'NL', 52.37, 4.9, 'EUR'],
  ['Rotterdam', 'NL', 51.92, 4.48, 'EUR'],
  ['Utrecht', 'NL', 52.09, 5.12, 'EUR'],
  ['Antwerp', 'BE', 51.22, 4.4, 'EUR'],
  ['Brussels', 'BE', 50.85, 4.35, 'EUR'],
  ['Paris', 'FR', 48.86, 2.35, 'EUR'],
  ['Berlin', 'DE', 52.52, 13.4, 'EUR'],
  ['London', 'GB', 51.51, -0.13, 'GBP'],
  ['Madrid', 'ES', 40.42, -3.7, 'EUR'],
  ['New York', 'US', 40.71, -74.01, 'USD'],
  ['Chicago', 'US', 41.88, -87.63, 'USD'],
  ['Des Moines', 'US', 41.59, -93.62, 'USD'],
  ['Singapore', 'SG', 1.35, 103.82, 'SGD'],
  ['Sydney', 'AU', -33.87, 151.21, 'AUD'],
  ['Tokyo', 'JP', 35.68, 139.69, 'JPY'],
];
/** Home cities of the cards (the European ones, first in CITIES): far-away cities are where travel fraud happens. */
export const HOME_CITIES = 9;
/** Merchant categories. */
export const CATEGORIES: readonly string[] = [
  'grocery',
  'restaurant',
  'fuel',
  'electronics',
  'clothing',
  'travel',
  'pharmacy',
  'entertainment',
];

/** mulberry32: a small, well-known 32-bit PRNG; deterministic for a seed on any Node version. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
