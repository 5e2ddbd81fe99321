import { globToRegExp } from './glob';

describe('globToRegExp', () => {
  it.each([
    ['*.{csv,json,ndjson,jsonl}', 'orders.csv', true],
    ['*.{csv,json,ndjson,jsonl}', 'ORDERS.JSONL', true],
    ['*.{csv,json,ndjson,jsonl}', 'orders.csv.tmp', false],
    ['orders-??.json', 'orders-07.json', true],
    ['orders-??.json', 'orders-7.json', false],
    ['a+b.csv', 'a+b.csv', true],
    ['a+b.csv', 'aab.csv', false],
  ])('%s matches %s: %s', (pattern, name, want) => {
    expect(globToRegExp(pattern).test(name)).toBe(want);
  });
});
