/**
 * The `model` step on real onnxruntime: its outputs against an independent float64 computation of
 * the same graph (read from the file with onnx-proto, not from our trainer), the same scores
 * whatever the batching, each `on_missing` policy, every validate-time and start-up error, and a
 * model file replaced on disk between batches (never inside one).
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelineFile, type Pipeline, type SpecProblem } from '@tributary/contract/spec';
import { modelIdentity, onnxSignature } from '@tributary/contract/schema';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { logisticTestModel, onnxModelBytes, writeOnnxModel, type TestModel } from '@tributary/testkit';
import { onnx } from 'onnx-proto';
import { PipelineRunner } from '../pipeline-runner';
import type { ModelChange } from '../models/onnx-model';

const ROOT = path.resolve(__dirname, '../../../..');
const FRAUD = path.join(ROOT, 'pipelines/models/fraud.onnx');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tributary-model-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A pipeline `m` whose dataset `d` runs `step` (YAML of the model step's body), with the model written beside it. */
function pipelineWith(model: TestModel | Uint8Array | null, step: string, fields = 'p: number, z: number, model: string'): string {
  const sub = path.join(dir, String(++n));
  mkdirSync(sub);
  if (model instanceof Uint8Array) writeFileSync(path.join(sub, 'm.onnx'), model);
  else if (model) writeOnnxModel(path.join(sub, 'm.onnx'), model);
  const file = path.join(sub, 'p.yaml');
  writeFileSync(
    file,
    `pipeline: m\nsources:\n  s: { kind: push }\ndatasets:\n  d:\n    from: [s]\n    fields: { ${fields} }\n    steps:\n      - model:\n${step
      .trim()
      .split('\n')
      .map((l) => `          ${l}`)
      .join('\n')}\n`,
  );
  return file;
}

const LOGISTIC = logisticTestModel([0.8, -1.5], 0.25);
const STEP = `file: m.onnx\ninputs: { features: [x, y] }\noutputs: { p: score, z: { tensor: logit, index: 0 } }`;

/** The problems loading `file` reports, as `line field: message`. */
function problems(file: string): string[] {
  try {
    loadPipelineFile(file);
  } catch (err) {
    expect((err as TributaryError).code).toBe('TRIB_E_SPEC');
    return ((err as TributaryError).details as SpecProblem[]).map((p) => `${p.line} ${p.field}: ${p.message}`);
  }
  throw new Error('expected TRIB_E_SPEC, the spec loaded');
}

async function runner(p: Pipeline, onModelChange?: (c: ModelChange) => void): Promise<PipelineRunner> {
  const r = new PipelineRunner(p, 'k');
  await r.open(onModelChange ? { onModelChange } : {});
  return r;
}

/** Runs the ONNX graph of `file` in float64, op by op, for the operators the shipped model uses. */
function reference(file: string): (x: number[]) => number {
  const m = onnx.ModelProto.decode(readFileSync(file));
  const init = new Map(
    m.graph!.initializer!.map((t) => [t.name!, { dims: (t.dims ?? []).map(Number), data: Array.from(t.floatData ?? []) }]),
  );
  return (x) => {
    const vals = new Map<string, { dims: number[]; data: number[] }>(init);
    vals.set(m.graph!.input![0]!.name!, { dims: [1, x.length], data: x });
    const get = (name: string) => vals.get(name)!;
    const bcast = (a: { dims: number[]; data: number[] }, b: { dims: number[]; data: number[] }, f: (p: number, q: number) => number) => ({
      dims: a.dims,
      data: a.data.map((v, i) => f(v, b.data[b.data.length === 1 ? 0 : i % b.data.length]!)),
    });
    for (const node of m.graph!.node!) {
      const [a, b, c] = node.input!.map(get);
      let out: { dims: number[]; data: number[] };
      if (node.opType === 'Relu') out = { dims: a!.dims, data: a!.data.map((v) => Math.max(v, 0)) };
      else if (node.opType === 'Log') out = { dims: a!.dims, data: a!.data.map(Math.log) };
      else if (node.opType === 'Sigmoid') out = { dims: a!.dims, data: a!.data.map((v) => 1 / (1 + Math.exp(-v))) };
      else if (node.opType === 'Add') out = bcast(a!, b!, (p, q) => p + q);
      else if (node.opType === 'Sub') out = bcast(a!, b!, (p, q) => p - q);
      else if (node.opType === 'Div') out = bcast(a!, b!, (p, q) => p / q);
      else if (node.opType === 'Gemm') {
        const [k, cols] = b!.dims as [number, number];
        const data = Array.from({ length: cols }, (_, j) => {
          let s = c!.data[c!.data.length === 1 ? 0 : j]!;
          for (let i = 0; i < k; i++) s += a!.data[i]! * b!.data[i * cols + j]!;
          return s;
        });
        out = { dims: [1, cols], data };
      } else throw new Error(`reference: operator ${node.opType} not written`);
      vals.set(node.output![0]!, out);
    }
    return get(m.graph!.output![0]!.name!).data[0]!;
  };
}

describe('model step: scores', () => {
  it("gives the shipped fraud model's probability as an independent float64 run of its graph does, to 1e-6", async () => {
    const p = loadPipelineFile(
      pipelineWith(
        readFileSync(FRAUD),
        `file: m.onnx\ninputs: { features: [a, b, c, d, e, f, g, h] }\noutputs: { p: probability }`,
        'p: number',
      ),
    );
    const r = await runner(p);
    const ref = reference(FRAUD);
    const rows = [
      [12.5, 1, 1, 12.5, 3, 0, 0, 14],
      [640, 11.2, 1, 640, 6, 2.1, 0, 3],
      [1.2, 0.05, 3, 3.1, 2, 0, 0, 2],
      [45, 1.1, 6, 260, 9, 0, 0, 12],
      [80, 1.3, 1, 80, 4, 5870.2, 1250, 11],
      [0, 1, 1, 0, 0, 0, 0, 0],
    ];
    const records = rows.map((v) => Object.fromEntries('abcdefgh'.split('').map((k, i) => [k, v[i]])));
    const [out] = await r.run('s', records);
    expect(out!.records).toHaveLength(rows.length);
    out!.records.forEach((rec, i) => expect(Math.abs((rec.p as number) - ref(rows[i]!))).toBeLessThan(1e-6));
    // Not a constant: the rows span the model's range.
    const ps = out!.records.map((rec) => rec.p as number);
    expect(Math.max(...ps) - Math.min(...ps)).toBeGreaterThan(0.5);
    await r.close();
  });

  it('writes each output field from its tensor and column, the model identity into model_field, and reports the model for Trib-Model', async () => {
    const file = pipelineWith(LOGISTIC, STEP);
    const p = loadPipelineFile(file);
    const r = await runner(p);
    const [out] = await r.run('s', [
      { x: 1, y: 2 },
      { x: -3, y: 0.5 },
    ]);
    const logit = (x: number, y: number) => Math.fround(0.8) * x + Math.fround(-1.5) * y + 0.25;
    out!.records.forEach((rec, i) => {
      const [x, y] = i === 0 ? [1, 2] : [-3, 0.5];
      expect(rec.z).toBeCloseTo(logit(x!, y!), 6);
      expect(rec.p).toBeCloseTo(1 / (1 + Math.exp(-logit(x!, y!))), 6);
    });
    const identity = modelIdentity(onnxSignature(readFileSync(path.join(path.dirname(file), 'm.onnx')), 'm.onnx'));
    expect(identity).toMatch(/^test@1 sha256:[0-9a-f]{64}$/);
    expect(out!.records.map((rec) => rec.model)).toEqual([identity, identity]);
    expect(out!.models).toEqual([identity]);
    await r.close();
  });

  it('gives every record the same scores whether the batch is scored whole, in sevens or one by one', async () => {
    const p = loadPipelineFile(
      pipelineWith(
        readFileSync(FRAUD),
        `file: m.onnx\ninputs: { features: [a, b, c, d, e, f, g, h] }\noutputs: { p: probability }`,
        'id: integer, p: number',
      ),
    );
    const r = await runner(p);
    let s = 17;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
    const records = Array.from({ length: 300 }, (_, id) => ({
      id,
      ...Object.fromEntries('abcdefgh'.split('').map((k) => [k, Math.round(rnd() * 1000) / 10])),
    }));
    const whole = (await r.run('s', records))[0]!.records;
    const sevens: Rec[] = [];
    for (let i = 0; i < records.length; i += 7) sevens.push(...(await r.run('s', records.slice(i, i + 7), `in:${i}`))[0]!.records);
    const ones: Rec[] = [];
    for (const rec of records.slice(0, 40)) ones.push(...(await r.run('s', [rec], `one:${rec.id}`))[0]!.records);
    expect(sevens).toEqual(whole);
    expect(ones).toEqual(whole.slice(0, 40));
    await r.close();
  });
});

describe('model step: missing and bad values', () => {
  const records = [{ x: 1, y: 2 }, { x: null, y: 2 }, { y: 2 }, { x: 'abc', y: 1 }, { x: true, y: 1 }];

  it('on_missing: dead_letter dead-letters records with a missing input field, naming it; a non-number is dead-lettered under every policy', async () => {
    const r = await runner(loadPipelineFile(pipelineWith(LOGISTIC, `${STEP}\non_missing: dead_letter`)));
    const [out] = await r.run('s', records);
    expect(out!.records.map((rec) => rec.p !== null)).toEqual([true, true]);
    expect(out!.failures.map((f) => [f.index, f.error.code, f.error.location.field, f.error.message])).toEqual([
      [1, 'TRIB_E_VALIDATION', 'x', 'datasets.d.steps[0].model: input field "x" is missing (on_missing: dead_letter)'],
      [2, 'TRIB_E_VALIDATION', 'x', 'datasets.d.steps[0].model: input field "x" is missing (on_missing: dead_letter)'],
      [3, 'TRIB_E_VALIDATION', 'x', 'datasets.d.steps[0].model: input field "x" is a string ("abc"), the model takes numbers'],
    ]);
    await r.close();
  });

  it('on_missing: skip passes the record on unscored (outputs and model null); impute scores it with the constant', async () => {
    const skip = await runner(loadPipelineFile(pipelineWith(LOGISTIC, `${STEP}\non_missing: skip`)));
    const [s] = await skip.run('s', records);
    expect(s!.records.map((rec) => [rec.p === null, rec.model === null])).toEqual([
      [false, false],
      [true, true],
      [true, true],
      [false, false],
    ]);
    expect(s!.failures.map((f) => f.index)).toEqual([3]);
    const imp = await runner(loadPipelineFile(pipelineWith(LOGISTIC, `${STEP}\non_missing: impute\nimpute: { x: 4, y: 0 }`)));
    const [i] = await imp.run('s', [...records, { x: 4, y: 2 }, { x: 1, y: 1 }]);
    const p = i!.records.map((rec) => rec.p);
    expect(p[1]).toBe(p[4]); // x imputed as 4
    expect(p[2]).toBe(p[4]);
    expect(p[3]).toBe(p[5]); // true is 1
    await Promise.all([skip.close(), imp.close()]);
  });
});

describe('model step: validate-time errors (before anything runs)', () => {
  it.each([
    [
      'an input the model does not have',
      `file: m.onnx\ninputs: { feats: [x, y] }\noutputs: { p: score }`,
      [
        '11 datasets.d.steps[0].model.inputs.feats: model m.onnx: the model has no input "feats" (its inputs: features: float32[N, 2])',
        '11 datasets.d.steps[0].model.inputs: model m.onnx: the model\'s input "features" (float32[N, 2]) is not fed',
      ],
    ],
    [
      'a width that does not match',
      `file: m.onnx\ninputs: { features: [x, y, z] }\noutputs: { p: score }`,
      '11 datasets.d.steps[0].model.inputs.features: model m.onnx: input "features" is float32[N, 2]: it takes 2 value(s) per record, the mapping gives 3',
    ],
    [
      'an output the model does not have',
      `file: m.onnx\ninputs: { features: [x, y] }\noutputs: { p: prob }`,
      '12 datasets.d.steps[0].model.outputs.p: model m.onnx: the model has no output "prob" (its outputs: score: float32[N, 1], logit: float32[N, 1])',
    ],
    [
      'an output column out of range',
      `file: m.onnx\ninputs: { features: [x, y] }\noutputs: { p: { tensor: score, index: 1 } }`,
      '12 datasets.d.steps[0].model.outputs.p: model m.onnx: output "score" is float32[N, 1]: index 1 is out of range (0..0)',
    ],
  ])('names the input or output for %s', (_what, step, problem) => {
    expect(problems(pipelineWith(LOGISTIC, step))).toEqual(Array.isArray(problem) ? problem : [problem]);
  });

  it('names the input whose type the step cannot feed, an unfed input, and a fixed batch dimension', () => {
    const model: TestModel = {
      inputs: [
        { name: 'words', type: 'string', shape: ['N'] },
        { name: 'fixed', shape: [1, 2] },
        { name: 'other', shape: ['N'] },
      ],
      outputs: [{ name: 'out', shape: ['N'] }],
      nodes: [{ op: 'Identity', inputs: ['other'], outputs: ['out'] }],
    };
    expect(problems(pipelineWith(model, `file: m.onnx\ninputs: { words: x, fixed: [x, y] }\noutputs: { p: out }`))).toEqual([
      '11 datasets.d.steps[0].model.inputs.words: model m.onnx: input "words" is string[N]; the step feeds float32, float64, int32, int64 tensors',
      '11 datasets.d.steps[0].model.inputs.fixed: model m.onnx: input "fixed" is float32[1, 2]: its first dimension is fixed at 1, but the step scores a whole batch at once (export the model with a dynamic batch dimension)',
      '11 datasets.d.steps[0].model.inputs: model m.onnx: the model\'s input "other" (float32[N]) is not fed',
    ]);
  });

  it('refuses a missing or corrupt model file, and impute without a constant for every input field', () => {
    expect(problems(pipelineWith(null, STEP))).toEqual([
      expect.stringMatching(/^10 datasets\.d\.steps\[0\]\.model\.file: model m\.onnx \(.*m\.onnx\): no such file$/),
    ]);
    expect(problems(pipelineWith(Buffer.from('this is not a model\n'), STEP))).toEqual([
      expect.stringMatching(/^10 datasets\.d\.steps\[0\]\.model\.file: model m\.onnx \(.*\): not an ONNX model/),
    ]);
    expect(problems(pipelineWith(LOGISTIC, `${STEP}\non_missing: impute\nimpute: { x: 0 }`))).toEqual([
      expect.stringMatching(/datasets\.d\.steps\[0\]\.model\.impute: on_missing: impute needs a value for "y"/),
    ]);
  });
});

describe('model step: start-up errors', () => {
  it('fails the start with TRIB_E_ML_MODEL when onnxruntime cannot load the model, or the file went missing after validate', async () => {
    const bad: TestModel = { ...LOGISTIC, nodes: [{ op: 'NoSuchOperator', inputs: ['features'], outputs: ['score'] }, LOGISTIC.nodes[0]!] };
    const p = loadPipelineFile(pipelineWith(bad, STEP));
    await expect(runner(p)).rejects.toMatchObject({
      code: 'TRIB_E_ML_MODEL',
      message: expect.stringContaining('cannot be loaded by onnxruntime'),
    });
    const q = loadPipelineFile(pipelineWith(LOGISTIC, STEP));
    rmSync(q.models!['m.onnx']!.path);
    await expect(runner(q)).rejects.toMatchObject({ code: 'TRIB_E_ML_MODEL', message: expect.stringContaining('cannot be read') });
  });
});

describe('model step: a model file replaced on disk', () => {
  it('is used from the next batch on, never inside a batch already started; a broken replacement is rejected and the old model goes on', async () => {
    const file = pipelineWith(logisticTestModel([1, 1], 0, { version: 1 }), STEP);
    const p = loadPipelineFile(file);
    const onnxFile = p.models!['m.onnx']!.path;
    const changes: ModelChange[] = [];
    const r = await runner(p, (c) => changes.push(c));
    const batch = Array.from({ length: 500 }, (_, i) => ({ x: i / 100, y: 1 }));
    const v1 = (await r.run('s', batch, 'b1'))[0]!.records;
    // Replace while a batch is running: that batch keeps the model it started with.
    const running = r.run('s', batch, 'b2');
    const next = path.join(dir, 'v2.onnx');
    writeOnnxModel(next, logisticTestModel([2, 2], 0, { version: 2 }));
    renameSync(next, onnxFile);
    const during = (await running)[0]!.records;
    expect(new Set(during.map((rec) => rec.model)).size).toBe(1);
    expect(during).toEqual(v1);
    const after = (await r.run('s', batch, 'b3'))[0]!.records;
    expect(new Set(after.map((rec) => rec.model))).toEqual(new Set([expect.stringMatching(/^test@2 sha256:/)]));
    expect(after[100]!.z).toBeCloseTo(4, 5);
    expect(changes).toEqual([
      expect.objectContaining({ outcome: 'loaded', previous: expect.stringMatching(/^test@1 /), next: expect.stringMatching(/^test@2 /) }),
    ]);
    // A replacement that no longer fits the mapping (three features) is rejected: version 2 goes on.
    const wide = path.join(dir, 'v3.onnx');
    const three = logisticTestModel([1, 1], 0, { version: 3 });
    three.inputs = [{ name: 'features', shape: ['N', 3] }];
    three.initializers![0] = { name: 'w', dims: [3, 1], data: [1, 1, 1] };
    writeFileSync(wide, onnxModelBytes(three));
    renameSync(wide, onnxFile);
    const kept = (await r.run('s', batch, 'b4'))[0]!.records;
    expect(kept).toEqual(after);
    expect(changes[1]).toMatchObject({
      outcome: 'rejected',
      previous: expect.stringMatching(/^test@2 /),
      reason: expect.stringContaining('takes 3 value(s) per record'),
    });
    await r.close();
  });
});
