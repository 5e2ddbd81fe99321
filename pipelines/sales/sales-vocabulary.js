/**
 * The shared vocabulary of the sales examples: a seeded PRNG and the names both the push sample
 * generator (generate-sales.js) and the operational-database script (scripts/sales-oltp.js) use,
 * so their data agree.
 */
'use strict';

/** mulberry32: a small seeded PRNG, so samples and tests agree. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = ['Ada', 'Ben', 'Cleo', 'Dev', 'Eli', 'Fay', 'Gus', 'Hana', 'Ivo', 'Jo', 'Kit', 'Lev'];
const LAST = ['Archer', 'Brook', 'Cole', 'Dale', 'Ekwe', 'Frost', 'Gray', 'Hale'];
const DEPTS = [
  ['Sales', 'Manchester'],
  ['Purchasing', 'Manchester'],
  ['Production', 'Leeds'],
  ['Dispatch', 'Leeds'],
];
const CITIES = [
  ['Lisbon', 'Portugal'],
  ['Porto', 'Portugal'],
  ['Lyon', 'France'],
  ['Paris', 'France'],
  ['Leeds', 'United Kingdom'],
  ['York', 'United Kingdom'],
  ['Austin', 'United States'],
];
const DESIGNS = ['Wooden', 'Steel', 'Granite', 'Cotton', 'Frozen', 'Bronze', 'Plastic', 'Rubber', 'Soft', 'Fresh'];
const COMPANIES = [
  'Fahey and Sons',
  'Leannon Group',
  'Armstrong Inc',
  'Kohler LLC',
  'Frami Ltd',
  'Mraz Partners',
  'Grant Co',
  'Bogan Works',
];

module.exports = { rng, FIRST, LAST, DEPTS, CITIES, DESIGNS, COMPANIES };
