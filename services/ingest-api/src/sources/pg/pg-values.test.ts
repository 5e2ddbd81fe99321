import { isoTimestamp, parseValue } from './pg-values';

describe('parseValue', () => {
  it.each([
    [16, 't', true],
    [23, '42', 42],
    [20, '9007199254740993', '9007199254740993'], // beyond 2^53: kept exact as text
    [20, '-5', -5],
    [1700, '12.50', 12.5],
    [1700, 'NaN', 'NaN'],
    [1700, '99999999999.99', 99999999999.99], // a double holds it exactly
    [1700, '12345678901234567.89', '12345678901234567.89'], // it does not: every digit as text
    [3802, '{"a": [1]}', { a: [1] }],
    [1082, '2024-02-29', '2024-02-29'],
    [1184, '2024-05-06 07:08:09.123456+00', '2024-05-06T07:08:09.123456Z'],
    [1184, '2024-05-06 07:08:09+05:30', '2024-05-06T07:08:09+05:30'],
    [1114, '2024-05-06 07:08:09', '2024-05-06T07:08:09'],
    [1184, 'infinity', 'infinity'],
    [2950, '4b4f2b9e-6a0e-4cf6-9d43-5b1f8f4c0a11', '4b4f2b9e-6a0e-4cf6-9d43-5b1f8f4c0a11'],
    [1007, '{1,2,3}', [1, 2, 3]],
  ])('type %i: %p -> %p', (oid, text, want) => {
    expect(parseValue(oid, text)).toEqual(want);
  });

  it('normalises zones written as +HH and +HHMM', () => {
    expect(isoTimestamp('2024-01-01 00:00:00-08')).toBe('2024-01-01T00:00:00-08:00');
    expect(isoTimestamp('2024-01-01 00:00:00+0530')).toBe('2024-01-01T00:00:00+05:30');
  });
});
