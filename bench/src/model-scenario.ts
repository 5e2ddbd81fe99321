/**
 * The `model` step in the bench: alone (the shipped fraud model scoring batches of 1,000 records in
 * this process, one onnxruntime thread; records per CPU second = per core), and on the push path
 * (the push pipeline plus a model step, bench/pipelines-model), whose transformer CPU per million
 * records, set against the plain push's, is what the step costs.
 */
import path from 'node:path';
import { loadPipelineFile, type ModelConfig } from '@tributary/contract/spec';
import { create } from '@tributary/transformer/dist/steps/model';
import type { BatchItem } from '@tributary/transformer/dist/steps/step';
import type { Client } from 'pg';
import { ndjsonBatches } from './records';
import { run, type ScenarioResult } from './scenarios';
import { ledgerInserted, push, ROOT, waitCount } from './stack';

const PIPELINES = path.join(ROOT, 'bench/pipelines-model');

/** The step alone: records scored per CPU second (one core), with the batch size and the check. */
export async function modelStepAlone(
  n: number,
  batch = 1_000,
): Promise<{ perCoreSecond: number; perSecond: number; batch: number; checked: string }> {
  const fraud = loadPipelineFile(path.join(ROOT, 'pipelines/transactions.yaml'));
  const ds = fraud.datasets.find((d) => d.steps.some((s) => s.kind === 'model'))!;
  const index = ds.steps.findIndex((s) => s.kind === 'model');
  const config = ds.steps[index]!.config as ModelConfig;
  const step = create(config, { pipeline: fraud, dataset: ds.name, index, hmacKey: 'bench' });
  await step.open!({});
  const fields = config.inputs.features as string[];
  let s = 1;
  const rnd = (): number => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const batches: BatchItem[][] = [];
  for (let b = 0; b < Math.min(n, 50_000); b += batch) {
    batches.push(
      Array.from({ length: batch }, (_, i) => ({
        index: i,
        record: Object.fromEntries(fields.map((f) => [f, Math.round(rnd() * 5000) / 10])),
      })),
    );
  }
  const ctx = { inputId: 'bench', pipeline: fraud.name, dataset: ds.name };
  for (const items of batches.slice(0, 5)) await step.applyBatch!(items, ctx); // warm-up
  let scored = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  while (scored < n) {
    for (const items of batches) {
      const out = await step.applyBatch!(items, ctx);
      if (out.items.length !== items.length || out.items.some((it) => typeof it.record.fraud_probability !== 'number')) {
        throw new Error('model step bench: a record came out unscored');
      }
      scored += out.items.length;
      if (scored >= n) break;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await step.close!();
  return {
    perCoreSecond: scored / ((cpu.user + cpu.system) / 1e6),
    perSecond: scored / seconds,
    batch,
    checked: `${scored} records scored, every one a probability`,
  };
}

/** The push path with a model step: n passages pushed, every row landed with its score and model. */
export function modelPush(db: Client, base: Record<string, string>, n: number): Promise<ScenarioResult> {
  const env = { ...base, TRIBUTARY_PIPELINES: PIPELINES };
  return run(env, 'model', 1, async (stack) => {
    await push(stack.ingestPort, 'benchmodel', 'gantry', ndjsonBatches(n, 5_000, `m${Date.now()}`), 4);
    await waitCount(db, ledgerInserted('benchmodel', 'fact_passage_scored'), n);
    const checked = async (): Promise<string> => {
      const { rows } = await db.query<{ n: string; models: string }>(
        'SELECT count(fraud_probability) AS n, count(DISTINCT fraud_model) AS models FROM warehouse.fact_passage_scored',
      );
      if (Number(rows[0]!.n) !== n || Number(rows[0]!.models) !== 1) {
        throw new Error(`model scenario: ${rows[0]!.n} scored rows of ${n}, ${rows[0]!.models} models`);
      }
      return `${n} rows, each with a score and the model's identity`;
    };
    return { records: n, checked };
  });
}
