/**
 * `npm run train:fraud [-- --check]`: trains the fraud model of pipelines/transactions.yaml and
 * writes pipelines/models/fraud.onnx; `--check` writes nothing and fails when the committed file
 * differs from what training gives (the model is reproducible: seeded world, seeded training).
 *
 * The features are computed by the pipeline itself: each generated world runs through the
 * `transactions` dataset's own steps (the transformer's PipelineRunner with in-memory KV, as
 * `--dry-run` does), minus the `model` step, so training sees exactly the values the step will be
 * fed in production, including its `impute` constants. The inputs are read from that step's
 * mapping. Prints precision and recall on a held-out world (another seed) for the model, the
 * rules alone (`fraud_score > 0`) and either; docs/ml.md quotes them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { inputFields, loadPipelineFile, type ModelConfig, type Pipeline } from '@tributary/contract/spec';
import { onnxSignature } from '@tributary/contract/schema';
import { type Rec } from '@tributary/contract/codec';
import { memoryKv } from '@tributary/transformer/dist/memory-kv';
import { PipelineRunner } from '@tributary/transformer/dist/pipeline-runner';
import { generateWorld, type LabelledPayment, type WorldOptions } from './fraud-world';
import { predict, train } from './mlp';
import { mlpToOnnx } from './onnx-graph';

const ROOT = path.resolve(__dirname, '../../..');
const PIPELINE = path.join(ROOT, 'pipelines/transactions.yaml');
const MODEL_REF = 'models/fraud.onnx';
const TRAIN: WorldOptions = { seed: 1, cards: 1500, days: 14, fraudRate: 0.012 };
const HELD_OUT: WorldOptions = { seed: 2, cards: 1000, days: 14, fraudRate: 0.012 };

/** The dataset with the fraud model's step, and that step's config. */
function modelStep(p: Pipeline): { dataset: string; index: number; config: ModelConfig } {
  for (const d of p.datasets) {
    const index = d.steps.findIndex((s) => s.kind === 'model' && s.config.file === MODEL_REF);
    if (index >= 0) return { dataset: d.name, index, config: d.steps[index]!.config as ModelConfig };
  }
  throw new Error(`${PIPELINE}: no model step with file ${MODEL_REF}`);
}

/** Runs a world through the dataset's steps (without the model step); returns feature rows, labels and the rules' verdicts. */
async function features(p: Pipeline, world: LabelledPayment[], step: ReturnType<typeof modelStep>) {
  const ds = p.datasets.find((d) => d.name === step.dataset)!;
  const only: Pipeline = { ...p, datasets: [{ ...ds, steps: ds.steps.filter((_, i) => i !== step.index) }], tables: [] };
  const runner = new PipelineRunner(only, 'training');
  await runner.open({ state: memoryKv(), dedupe: memoryKv(), join: memoryKv(), windows: memoryKv() });
  const fields = inputFields(step.config.inputs.features!);
  const byId = new Map(world.map((w) => [w.record.tx_id as string, w]));
  const xs: number[][] = [];
  const ys: number[] = [];
  const rules: boolean[] = [];
  const patterns: string[] = [];
  for (let b = 0; b < world.length; b += 1000) {
    const source = Object.keys(p.sources)[0]!;
    const [r] = await runner.run(
      source,
      world.slice(b, b + 1000).map((w) => w.record),
      `train:${b}`,
    );
    if (r!.failures.length > 0) throw new Error(`world record rejected: ${r!.failures[0]!.error.message}`);
    for (const rec of r!.records as Rec[]) {
      xs.push(
        fields.map((f) =>
          typeof rec[f] === 'number' ? (rec[f] as number) : typeof rec[f] === 'boolean' ? Number(rec[f]) : step.config.impute[f]!,
        ),
      );
      const w = byId.get(rec.tx_id as string)!;
      ys.push(w.fraud ? 1 : 0);
      patterns.push(w.pattern);
      rules.push(((rec.fraud_score as number) ?? 0) > 0);
    }
  }
  await runner.close();
  return { fields, xs, ys, rules, patterns };
}

function score(pred: boolean[], ys: number[]) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  pred.forEach((p, i) => {
    if (p && ys[i] === 1) tp++;
    else if (p) fp++;
    else if (ys[i] === 1) fn++;
  });
  const precision = tp / Math.max(1, tp + fp);
  const recall = tp / Math.max(1, tp + fn);
  return { tp, fp, fn, precision, recall, f1: (2 * precision * recall) / Math.max(1e-9, precision + recall) };
}

async function main(): Promise<number> {
  const check = process.argv.includes('--check');
  const p = loadPipelineFile(PIPELINE, { models: false });
  const step = modelStep(p);
  const threshold = Number(/fraud_probability\s*>=?\s*([0-9.]+)/.exec(readFileSync(PIPELINE, 'utf8'))?.[1] ?? 0.5);
  const t0 = Date.now();
  const tr = await features(p, generateWorld(TRAIN), step);
  const te = await features(p, generateWorld(HELD_OUT), step);
  const params = train(tr.xs, tr.ys, { hidden: 24, epochs: 80, seed: 7, lr: 0.005, batch: 256, positiveWeight: 2 });
  const bytes = mlpToOnnx(params, {
    name: 'fraud',
    version: 1,
    features: tr.fields,
    doc: `Card-payment fraud probability from ${tr.fields.join(', ')} (tools/ml, seed ${TRAIN.seed}).`,
  });
  const out = path.join(ROOT, 'pipelines', MODEL_REF);
  const sha = onnxSignature(bytes, out).sha256;
  const rows = (name: string, pred: boolean[]) => {
    const s = score(pred, te.ys);
    return `| ${name} | ${(100 * s.precision).toFixed(1)} % | ${(100 * s.recall).toFixed(1)} % | ${s.f1.toFixed(3)} | ${s.tp} | ${s.fp} | ${s.fn} |`;
  };
  const probs = te.xs.map((x) => predict(params, x));
  const model = probs.map((q) => q >= threshold);
  const fraudShare = (ys: number[]) => ((100 * ys.reduce((a, b) => a + b, 0)) / ys.length).toFixed(2);
  const lines = [
    `training world: ${tr.xs.length} payments, ${fraudShare(tr.ys)} % fraud; held-out world: ${te.xs.length} payments, ${fraudShare(te.ys)} % fraud (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
    `model: ${bytes.length} bytes, sha256 ${sha}, threshold ${threshold}`,
    '',
    '| on the held-out world | precision | recall | F1 | true positives | false positives | missed |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    rows(`model (fraud_probability >= ${threshold})`, model),
    rows('rules alone (fraud_score > 0)', te.rules),
    rows(
      'model or rules',
      model.map((m, i) => m || te.rules[i]!),
    ),
    '',
    '| pattern (held-out) | payments | model flags | rules flag |',
    '| --- | --- | --- | --- |',
    ...[...new Set(te.patterns)].sort().map((pat) => {
      const idx = te.patterns.flatMap((q, i) => (q === pat ? [i] : []));
      const pct = (f: (i: number) => boolean) => `${((100 * idx.filter(f).length) / idx.length).toFixed(1)} %`;
      return `| ${pat} | ${idx.length} | ${pct((i) => model[i]!)} | ${pct((i) => te.rules[i]!)} |`;
    }),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  if (check) {
    const same = Buffer.compare(readFileSync(out), Buffer.from(bytes)) === 0;
    process.stdout.write(same ? `${out} is what training gives\n` : `${out} differs from what training gives: run npm run train:fraud\n`);
    return same ? 0 : 1;
  }
  writeFileSync(out, bytes);
  process.stdout.write(`wrote ${out}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
