import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileRecordSchema } from '@tributary/contract/schema';
import { TrafficSimulator } from './traffic-simulator';

const SCHEMA = JSON.parse(readFileSync(path.resolve(__dirname, '../../../../../pipelines/schemas/passage.json'), 'utf8')) as unknown;
const check = compileRecordSchema(SCHEMA, 'passage.json');
const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);

describe('TrafficSimulator', () => {
  it('produces the same records for the same seed', () => {
    const a = new TrafficSimulator({ seed: 42, idPrefix: 'sim' });
    const b = new TrafficSimulator({ seed: 42, idPrefix: 'sim' });
    expect(b.next(50, NOW)).toEqual(a.next(50, NOW));
    expect(b.next(5, NOW)).toEqual(a.next(5, NOW));
  });

  it('produces different records for a different seed', () => {
    const a = new TrafficSimulator({ seed: 1, idPrefix: 'sim' }).next(20, NOW);
    const b = new TrafficSimulator({ seed: 2, idPrefix: 'sim' }).next(20, NOW);
    expect(b.map((r) => r.plate)).not.toEqual(a.map((r) => r.plate));
  });

  it('makes every record valid against pipelines/schemas/passage.json when invalidRatio is 0', () => {
    const records = new TrafficSimulator({ seed: 7, invalidRatio: 0, gantries: 999, idPrefix: 'sim' }).next(2000, NOW);
    expect(records).toHaveLength(2000);
    const problems = records.map((r) => check(r)).filter(Boolean);
    expect(problems).toEqual([]);
  });

  it('makes every record invalid against the schema when invalidRatio is 1', () => {
    const records = new TrafficSimulator({ seed: 7, invalidRatio: 1, idPrefix: 'sim' }).next(200, NOW);
    expect(records.filter((r) => check(r) === undefined)).toEqual([]);
  });

  it('gives every record a unique event_id under its prefix, continuing across calls', () => {
    const sim = new TrafficSimulator({ seed: 3, idPrefix: 'gen-x' });
    const ids = [...sim.next(3, NOW), ...sim.next(2, NOW)].map((r) => r.event_id);
    expect(ids).toEqual(['gen-x-1', 'gen-x-2', 'gen-x-3', 'gen-x-4', 'gen-x-5']);
  });

  it('stamps observations within the two seconds before now', () => {
    const records = new TrafficSimulator({ seed: 5, idPrefix: 'sim' }).next(200, NOW);
    for (const r of records) {
      const at = Date.parse(r.observed_at as string);
      expect(at).toBeLessThanOrEqual(NOW);
      expect(at).toBeGreaterThanOrEqual(NOW - 2000);
    }
  });
});
