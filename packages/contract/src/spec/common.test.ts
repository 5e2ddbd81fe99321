import { z } from 'zod';
import { duration, fieldSpec, identifier, normaliseFields, parseDuration, rate } from './common';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['5m', 300_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 10s ', 10_000],
    ['0s', 0],
  ])('reads %p as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([['30'], ['s'], ['-5s'], ['5 s'], ['5sec'], ['1w'], ['']])('refuses %p, naming the accepted units', (text) => {
    expect(() => parseDuration(text)).toThrow(/ms, s, m, h, d/);
  });
});

describe('duration schema', () => {
  it('parses to milliseconds and refuses malformed text', () => {
    expect(duration.parse('2m')).toBe(120_000);
    expect(duration.safeParse('2 minutes').success).toBe(false);
  });
});

describe('rate schema', () => {
  it.each([
    ['500/s', 500],
    ['60/m', 1],
    ['90/m', 1.5],
    ['3600/h', 1],
    ['0.5/s', 0.5],
  ])('reads %p as %d records per second', (text, perSecond) => {
    expect(rate.parse(text)).toBeCloseTo(perSecond, 10);
  });

  it.each([['500'], ['500/d'], ['/s'], ['-1/s'], ['5 /s'], [500]])('refuses %p', (value) => {
    expect(rate.safeParse(value).success).toBe(false);
  });
});

describe('identifier schema', () => {
  it('accepts lower snake_case up to 63 characters', () => {
    expect(identifier.safeParse('fact_passage_2').success).toBe(true);
    expect(identifier.safeParse(`a${'b'.repeat(62)}`).success).toBe(true);
  });

  it.each([['Passages'], ['2fast'], ['_x'], ['with-dash'], ['with space'], [''], [`a${'b'.repeat(63)}`]])('refuses %p', (name) => {
    expect(identifier.safeParse(name).success).toBe(false);
  });
});

describe('fields', () => {
  it('normalises bare types and option objects into an ordered list, not required by default', () => {
    const fields = z.record(identifier, fieldSpec).parse({
      id: { type: 'string', required: true, description: 'Event ID' },
      speed: 'number',
      at: { type: 'timestamp' },
    });
    expect(normaliseFields(fields)).toEqual([
      { name: 'id', type: 'string', required: true, description: 'Event ID' },
      { name: 'speed', type: 'number', required: false },
      { name: 'at', type: 'timestamp', required: false },
    ]);
  });

  it('refuses unknown types and unknown options', () => {
    expect(fieldSpec.safeParse('text').success).toBe(false);
    expect(fieldSpec.safeParse({ type: 'string', nullable: true }).success).toBe(false);
  });
});
