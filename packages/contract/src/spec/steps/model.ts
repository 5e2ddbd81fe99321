/**
 * Config shape of the `model` step (an ONNX model run on the CPU once per batch; transformer
 * `steps/model.ts`), and the check of its mapping against the model's signature that `validate`
 * runs before anything starts: every model input fed, each with the right width and a numeric
 * type, every output read from a tensor the model has.
 */
import { z } from 'zod';
import type { OnnxSignature, OnnxTensorInfo } from '../../schema/onnx-signature';
import { identifier } from '../common';

const fieldName = z.string().min(1);
const tensorName = z.string().min(1);

/** Element types the step converts record values to (and reads outputs from). */
export const MODEL_NUMERIC_TYPES = ['float32', 'float64', 'int32', 'int64'] as const;

const outputSpec = z.union([
  tensorName.meta({ description: 'An output tensor of shape `[N]` or `[N, 1]`.' }),
  z.strictObject({
    tensor: tensorName.meta({ description: 'The output tensor.' }),
    index: z.number().int().min(0).default(0).meta({ description: 'Column of an `[N, k]` output (e.g. 1 for the positive class).' }),
  }),
]);

/** Config of the `model` step. */
export const modelStepSpec = z
  .strictObject({
    file: z.string().min(1).meta({
      description:
        'ONNX model file, relative to the pipeline file. Read (and its sha256 taken) at start; a file replaced on disk is picked up by the next batch, never in the middle of one.',
    }),
    inputs: z
      .record(tensorName, z.union([fieldName, z.array(fieldName).min(1)]))
      .refine((o) => Object.keys(o).length > 0, 'name at least one input')
      .meta({
        description:
          "Model input tensor to record fields: a list of fields fills an `[N, k]` tensor (one row per record, columns in this order); one field fills `[N]` or `[N, 1]`. Numbers and booleans (1/0), converted to the input's element type.",
      }),
    outputs: z
      .record(identifier, outputSpec)
      .refine((o) => Object.keys(o).length > 0, 'name at least one output')
      .meta({ description: 'Field to set, from an output tensor: `{ fraud_probability: { tensor: probability, index: 0 } }`.' }),
    on_missing: z.enum(['impute', 'dead_letter', 'skip']).default('dead_letter').meta({
      description:
        'An input field that is null or absent: `impute` the constant from `impute`, `dead_letter` the record, or `skip` its scoring (output fields and `model_field` null; the record goes on).',
    }),
    impute: z.record(fieldName, z.number()).default({}).meta({
      description: 'With `on_missing: impute`: the constant for each input field, `{ km_from_prev: 0 }`; every input field needs one.',
    }),
    model_field: identifier.default('model').meta({
      description:
        'Field set to the identity of the model that scored the record (`<name>@<version> sha256:<hex>`); declare it in the dataset fields to keep it as a column.',
    }),
  })
  .superRefine((m, ctx) => {
    const fields = new Set(Object.values(m.inputs).flatMap((f) => (typeof f === 'string' ? [f] : f)));
    for (const f of Object.keys(m.impute)) {
      if (!fields.has(f)) ctx.addIssue({ code: 'custom', path: ['impute', f], message: `"${f}" is not an input field of the model` });
    }
    if (m.on_missing === 'impute') {
      for (const f of fields) {
        if (!(f in m.impute)) ctx.addIssue({ code: 'custom', path: ['impute'], message: `on_missing: impute needs a value for "${f}"` });
      }
    }
    if (m.model_field in m.outputs) ctx.addIssue({ code: 'custom', path: ['model_field'], message: 'is also an output field' });
  })
  .meta({
    description:
      "Scores records with an ONNX model on the CPU, one inference per batch: builds the input tensors from record fields, writes the outputs into fields. The model's identity (sha256, name, version) rides in the `Trib-Model` header of the dataset's messages, in the lineage events of its loads, and in `model_field`.",
  });

/** A parsed model config. */
export type ModelConfig = z.output<typeof modelStepSpec>;

/** An output mapping in its long form. */
export function outputOf(o: ModelConfig['outputs'][string]): { tensor: string; index: number } {
  return typeof o === 'string' ? { tensor: o, index: 0 } : o;
}

/** The fields feeding an input, in column order. */
export function inputFields(f: string | string[]): string[] {
  return typeof f === 'string' ? [f] : f;
}

function describe(t: OnnxTensorInfo): string {
  return `${t.type}[${(t.shape ?? ['?']).map((d) => d ?? '?').join(', ')}]`;
}

/** Width problems of a tensor whose first dimension is the batch: `[N]` (width 1) or `[N, k]`. */
function batchShapeProblem(t: OnnxTensorInfo, what: string): string | undefined {
  const s = t.shape;
  if (!s) return undefined;
  if (s.length < 1 || s.length > 2)
    return `${what} "${t.name}" is ${describe(t)}: the step feeds and reads [N] or [N, k] tensors (one row per record)`;
  if (typeof s[0] === 'number' && s[0] !== -1) {
    return `${what} "${t.name}" is ${describe(t)}: its first dimension is fixed at ${s[0]}, but the step scores a whole batch at once (export the model with a dynamic batch dimension)`;
  }
  return undefined;
}

/** Width of an `[N, k]` tensor when fixed; 1 for `[N]`; undefined when unknown. */
function widthOf(t: OnnxTensorInfo): number | undefined {
  if (!t.shape) return undefined;
  if (t.shape.length === 1) return 1;
  const k = t.shape[1];
  return typeof k === 'number' && k > 0 ? k : undefined;
}

/** Problems of a `model` step's mapping against the model's signature, each with the path (under the step) it is about. */
export function checkModelMapping(config: ModelConfig, sig: OnnxSignature): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const numeric = (t: OnnxTensorInfo) => (MODEL_NUMERIC_TYPES as readonly string[]).includes(t.type);
  const inputs = new Map(sig.inputs.map((i) => [i.name, i]));
  const outputs = new Map(sig.outputs.map((o) => [o.name, o]));
  const list = (m: Map<string, OnnxTensorInfo>) => [...m.values()].map((t) => `${t.name}: ${describe(t)}`).join(', ');
  for (const [name, fields] of Object.entries(config.inputs)) {
    const t = inputs.get(name);
    const at = ['inputs', name];
    if (!t) {
      problems.push({ path: at, message: `the model has no input "${name}" (its inputs: ${list(inputs)})` });
      continue;
    }
    if (!numeric(t)) {
      problems.push({ path: at, message: `input "${name}" is ${describe(t)}; the step feeds ${MODEL_NUMERIC_TYPES.join(', ')} tensors` });
      continue;
    }
    const shape = batchShapeProblem(t, 'input');
    if (shape) {
      problems.push({ path: at, message: shape });
      continue;
    }
    const width = widthOf(t);
    const n = inputFields(fields).length;
    if (width !== undefined && width !== n) {
      problems.push({
        path: at,
        message: `input "${name}" is ${describe(t)}: it takes ${width} value(s) per record, the mapping gives ${n}`,
      });
    }
  }
  for (const t of inputs.values()) {
    if (!(t.name in config.inputs))
      problems.push({ path: ['inputs'], message: `the model's input "${t.name}" (${describe(t)}) is not fed` });
  }
  for (const [field, o] of Object.entries(config.outputs)) {
    const { tensor, index } = outputOf(o);
    const t = outputs.get(tensor);
    const at = ['outputs', field];
    if (!t) {
      problems.push({ path: at, message: `the model has no output "${tensor}" (its outputs: ${list(outputs)})` });
      continue;
    }
    if (!numeric(t)) {
      problems.push({
        path: at,
        message: `output "${tensor}" is ${describe(t)}; the step reads ${MODEL_NUMERIC_TYPES.join(', ')} tensors`,
      });
      continue;
    }
    const shape = batchShapeProblem(t, 'output');
    if (shape) {
      problems.push({ path: at, message: shape });
      continue;
    }
    const width = widthOf(t);
    if (width !== undefined && index >= width) {
      problems.push({ path: at, message: `output "${tensor}" is ${describe(t)}: index ${index} is out of range (0..${width - 1})` });
    }
  }
  return problems;
}
