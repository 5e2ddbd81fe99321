/**
 * The fraud demo is believable: the transactions generator at its pipeline's rate, run through
 * pipelines/transactions.yaml's own rules (the transformer's PipelineRunner with in-memory state,
 * as in a dry run), flags about 1-3% of payments, in the first hour and the next,
 * and each of the three rules finds its pattern.
 */
import path from 'node:path';
import { loadPipelineFile } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { memoryKv } from '../../transformer/src/memory-kv';
import { PipelineRunner } from '../../transformer/src/pipeline-runner';
import { cardsForRate } from '../src/sources/generator';
import { TransactionsSimulator } from '../src/sources/simulators/transactions-simulator';

const PIPELINE = path.resolve(__dirname, '../../../pipelines/transactions.yaml');

/**
 * Runs `seconds` of the generator at `rate`/s, one-second ticks handed to the pipeline a minute at
 * a time (as the generator's batches would be under load; windows go by the records' own times),
 * and returns the flagged share per period.
 */
async function flaggedShares(rate: number, seconds: number, periods: number): Promise<{ shares: number[]; rules: Set<string> }> {
  const pipeline = loadPipelineFile(PIPELINE);
  // The rules' share is what this measures: the fraud model's step (docs/ml.md) is left out.
  pipeline.datasets = pipeline.datasets.map((d) => ({ ...d, steps: d.steps.filter((s) => s.kind !== 'model') }));
  const runner = new PipelineRunner(pipeline, 'test-key');
  await runner.open({ state: memoryKv(), dedupe: memoryKv(), join: memoryKv(), windows: memoryKv() });
  const sim = new TransactionsSimulator({ seed: 11, cards: cardsForRate(rate), idPrefix: 'sim' });
  const start = Date.UTC(2026, 2, 1, 8, 0, 0);
  const batchSeconds = 60;
  expect(seconds % (periods * batchSeconds)).toBe(0); // a batch never spans two periods
  const counts = Array.from({ length: periods }, () => ({ payments: 0, flagged: 0 }));
  const rules = new Set<string>();
  for (let s = 0; s < seconds; s += batchSeconds) {
    const records: Rec[] = [];
    for (let t = s; t < s + batchSeconds; t++) records.push(...(sim.next(rate, start + t * 1000) as Rec[]));
    const results = await runner.run('simulator', records, `batch-${s}`);
    const tx = results.find((r) => r.dataset === 'transactions')!;
    expect(tx.failures).toEqual([]);
    const period = counts[Math.floor((s * periods) / seconds)]!;
    period.payments += tx.records.length;
    for (const r of tx.records) {
      if ((r.fraud_score as number) > 0) {
        period.flagged++;
        for (const rule of String(r.fraud_rules).split(',')) rules.add(rule);
      }
    }
  }
  return { shares: counts.map((c) => c.flagged / c.payments), rules };
}

describe('transactions demo', () => {
  it('flags 1-3% of payments in the first hour and in the second, by each rule', async () => {
    // Two hours of simulated time at 2 payments a second (the share does not depend on the rate:
    // the card population grows with it); the first hour starts with no history.
    const { shares, rules } = await flaggedShares(2, 2 * 3600, 2);
    process.stdout.write(`flagged shares per hour: ${shares.map((s) => (s * 100).toFixed(2)).join('%, ')}%\n`);
    for (const share of shares) {
      expect(share).toBeGreaterThan(0.01);
      expect(share).toBeLessThan(0.03);
    }
    expect([...rules].sort()).toEqual(['amount_spike', 'impossible_travel', 'velocity']);
  }, 120_000);
});
