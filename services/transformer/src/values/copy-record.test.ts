import { create as createMap } from '../steps/map';
import { copyRecord } from './copy-record';

describe('copyRecord', () => {
  it('copies own fields in order into a new plain object, leaving the record as it was', () => {
    const record = JSON.parse('{"b":1,"a":{"x":[1]},"c":null,"2":"two"}') as Record<string, unknown>;
    const copy = copyRecord(record);
    expect(copy).not.toBe(record);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.keys(copy)).toEqual(Object.keys(record));
    expect(copy).toEqual(record);
    copy.d = 4;
    expect(record).not.toHaveProperty('d');
  });

  it('keeps an own "__proto__" field as a field, never as the prototype', () => {
    const record = JSON.parse('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>;
    const copy = copyRecord(record);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect((copy as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(copy)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(copy, '__proto__')?.value).toEqual({ polluted: true });
  });

  it('the map step keeps such a field too, and adds its own', () => {
    const step = createMap({ y: 'x + 1' }, { pipeline: {} as never, dataset: 'd', index: 0, hmacKey: 'k' });
    const out = step.apply!(JSON.parse('{"__proto__":{"polluted":true},"x":1}') as Record<string, unknown>) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['__proto__', 'x', 'y']);
    expect(out.y).toBe(2);
  });
});
