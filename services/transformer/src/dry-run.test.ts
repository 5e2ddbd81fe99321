import path from 'node:path';
import { dryRun } from './dry-run';

const ROOT = path.resolve(__dirname, '../../..');
const at = (p: string) => path.join(ROOT, p);

async function run(args: string[]): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const code = await dryRun(args, (l) => lines.push(l));
  return { code, lines };
}

describe('transformer --dry-run on the shipped stream examples', () => {
  it('transactions.yaml: the sample fires each fraud rule once, the model flags one more, and the record the Avro contract refuses is dead-lettered', async () => {
    const { code, lines } = await run([at('pipelines/transactions.yaml'), 'payments', at('pipelines/samples/transactions.ndjson')]);
    expect(code).toBe(1); // a dead letter
    expect(lines).toContain('== transactions: 15 out, 0 filtered, 1 dead-lettered');
    expect(lines).toContain('!! record 15: TRIB_E_VALIDATION schemas/transaction.avsc: field "amount": "free" is not a valid Avro double');
    const events = lines.filter((l) => l.startsWith('>> event fraud: ')).map((l) => JSON.parse(l.slice('>> event fraud: '.length)));
    expect(events.map((e) => [e.tx_id, e.fraud_rules])).toEqual([
      ['s003', ''], // the model alone: the card's third payment within a minute
      ['s005', 'velocity'],
      ['s006', 'velocity'],
      ['s011', 'amount_spike'],
      ['s013', 'impossible_travel'],
    ]);
  });

  it('events-weather.yaml: events join the observation nearest their start, in either order; one without any times out with nulls', async () => {
    const events = at('pipelines/samples/events-weather-events.ndjson');
    const weather = at('pipelines/samples/events-weather-observations.ndjson');
    for (const order of [
      ['event_push', events, 'weather_push', weather],
      ['weather_push', weather, 'event_push', events],
    ]) {
      const { code, lines } = await run([at('pipelines/events-weather.yaml'), ...order]);
      expect(code).toBe(0);
      // The reply fields the pipeline leaves out are named in a drop step: no schema drift.
      expect(lines.filter((l) => l.startsWith('~~ drift'))).toEqual([]);
      const joined = lines
        .filter((l) => l.startsWith('{"event_id"') && l.includes('"observed_at"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(joined.map((r) => [r.event_id, r.observed_at]).sort()).toEqual([
        ['vvG1000000', '2026-06-12T00:40:00.000Z'],
        ['vvG1000001', '2026-06-12T23:10:00.000Z'],
        ['vvG1000002', '2026-06-13T01:10:00.000Z'],
        ['vvG1000003', '2026-06-13T02:10:00.000Z'],
        ['vvG1000004', '2026-06-13T03:40:00.000Z'],
        ['vvG1000005', null],
      ]);
    }
  });
});
