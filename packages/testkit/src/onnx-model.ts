/**
 * Small ONNX models for tests, written with `onnx-proto` (the ONNX protobuf classes): any
 * signature (names, element types, shapes), any nodes, so a test can build the model its case
 * needs (a wrong width, a fixed batch dimension, an operator the runtime does not know) in a
 * temporary folder.
 */
import { writeFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';

/** Element types by name, as `onnx-proto` numbers them. */
const TYPES = { float32: 1, int32: 6, int64: 7, string: 8, bool: 9, float64: 11 } as const;

/** An input or output of a test model. */
export interface TestTensor {
  name: string;
  type?: keyof typeof TYPES;
  /** Numbers are fixed dimensions, strings symbolic ones (`N`). */
  shape: (number | string)[];
}

/** What a test model is made of. */
export interface TestModel {
  name?: string;
  version?: number;
  inputs: TestTensor[];
  outputs: TestTensor[];
  nodes: { op: string; inputs: string[]; outputs: string[]; attributes?: Record<string, number> }[];
  /** float32 weights. */
  initializers?: { name: string; dims: number[]; data: number[] }[];
}

/** The model's bytes. */
export function onnxModelBytes(m: TestModel): Uint8Array {
  const info = (t: TestTensor): onnx.IValueInfoProto => ({
    name: t.name,
    type: {
      tensorType: {
        elemType: TYPES[t.type ?? 'float32'],
        shape: { dim: t.shape.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tributary-testkit',
    modelVersion: m.version ?? 1,
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: m.name ?? 'test',
      input: m.inputs.map(info),
      output: m.outputs.map(info),
      node: m.nodes.map((n) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes ?? {}).map(([name, f]) => ({ name, f, type: onnx.AttributeProto.AttributeType.FLOAT })),
      })),
      initializer: (m.initializers ?? []).map((t) => ({ name: t.name, dims: t.dims, dataType: 1, floatData: t.data })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Writes the model to `file`; returns its bytes. */
export function writeOnnxModel(file: string, m: TestModel): Uint8Array {
  const bytes = onnxModelBytes(m);
  writeFileSync(file, bytes);
  return bytes;
}

/**
 * A logistic model on two features: `features` float32[N, 2] → `score` float32[N, 1] =
 * sigmoid(w0 x0 + w1 x1 + b), and `logit` float32[N, 1] before the sigmoid.
 */
export function logisticTestModel(w: [number, number], b: number, opts: { name?: string; version?: number } = {}): TestModel {
  return {
    ...opts,
    inputs: [{ name: 'features', shape: ['N', 2] }],
    outputs: [
      { name: 'score', shape: ['N', 1] },
      { name: 'logit', shape: ['N', 1] },
    ],
    nodes: [
      { op: 'Gemm', inputs: ['features', 'w', 'b'], outputs: ['logit'] },
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['score'] },
    ],
    initializers: [
      { name: 'w', dims: [2, 1], data: w },
      { name: 'b', dims: [1], data: [b] },
    ],
  };
}
