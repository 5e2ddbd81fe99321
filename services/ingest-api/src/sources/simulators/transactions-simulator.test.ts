import { readFileSync } from 'node:fs';
import path from 'node:path';
import { compileSchema } from '@tributary/contract/schema';
import { type Rec } from '@tributary/contract/codec';
import { TransactionsSimulator } from './transactions-simulator';

const SCHEMAS = path.resolve(__dirname, '../../../../../pipelines/schemas');
const json = compileSchema(JSON.parse(readFileSync(path.join(SCHEMAS, 'transaction.json'), 'utf8')), 'transaction.json', 'json_schema');
const avro = compileSchema(JSON.parse(readFileSync(path.join(SCHEMAS, 'transaction.avsc'), 'utf8')), 'transaction.avsc', 'avro');
const NOW = Date.UTC(2026, 2, 1, 12, 0, 0);

describe('TransactionsSimulator', () => {
  it('produces the same records for the same seed', () => {
    const a = new TransactionsSimulator({ seed: 42, idPrefix: 'sim' });
    const b = new TransactionsSimulator({ seed: 42, idPrefix: 'sim' });
    expect(b.next(200, NOW)).toEqual(a.next(200, NOW));
  });

  it('makes every record valid against the JSON Schema and the Avro contract when invalidRatio is 0', () => {
    const records = new TransactionsSimulator({ seed: 7, fraudRatio: 0.2, idPrefix: 'sim' }).next(3000, NOW);
    expect(records).toHaveLength(3000);
    expect(records.map((r) => json.check(r)).filter((r) => 'problem' in r)).toEqual([]);
    expect(records.map((r) => avro.check(r)).filter((r) => 'problem' in r)).toEqual([]);
    expect(new Set(records.map((r) => r.tx_id)).size).toBe(3000);
  });

  it('makes every record invalid against the schema when invalidRatio is 1', () => {
    const records = new TransactionsSimulator({ seed: 7, invalidRatio: 1, idPrefix: 'sim' }).next(100, NOW);
    expect(records.filter((r) => 'record' in json.check(r))).toEqual([]);
  });

  it("never moves a card's event time backwards, across calls", () => {
    const sim = new TransactionsSimulator({ seed: 3, fraudRatio: 0.3, cards: 20, idPrefix: 'sim' });
    const records = [...sim.next(500, NOW), ...sim.next(500, NOW + 1000)];
    const last = new Map<unknown, number>();
    for (const r of records) {
      const t = Date.parse(r.at as string);
      expect(t).toBeGreaterThan(last.get(r.card_id) ?? 0);
      last.set(r.card_id, t);
    }
  });

  it('injects each fraud pattern: bursts of six, amount spikes, and payments on another continent', () => {
    const records = new TransactionsSimulator({ seed: 9, fraudRatio: 0.3, cards: 50, idPrefix: 'sim' }).next(2000, NOW) as Rec[];
    const burst = records.some((r, i) => i >= 5 && records.slice(i - 5, i + 1).every((x) => x.card_id === r.card_id));
    const far = records.some((r) => ['US', 'SG', 'AU', 'JP'].includes(r.country as string));
    const byCard = new Map<unknown, number[]>();
    for (const r of records) byCard.set(r.card_id, [...(byCard.get(r.card_id) ?? []), r.amount as number]);
    const spike = [...byCard.values()].some((a) => Math.max(...a) > 8 * Math.min(...a));
    expect({ burst, far, spike }).toEqual({ burst: true, far: true, spike: true });
  });
});
