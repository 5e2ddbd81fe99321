/**
 * Writes a trained `MlpParams` as an ONNX model with `onnx-proto` (the ONNX protobuf classes):
 * input `features` float32[N, d], output `probability` float32[N, 1], the graph
 * Relu → Add 1 → Log → Sub mean → Div std → Gemm → Relu → Gemm → Sigmoid, opset 17.
 */
import { onnx } from 'onnx-proto';
import type { MlpParams } from './mlp';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function tensor(name: string, dims: number[], data: number[]): onnx.ITensorProto {
  return { name, dims, dataType: FLOAT, floatData: data };
}

function valueInfo(name: string, dims: (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** The model file's bytes; `doc` describes the features (kept in the file as `doc_string`). */
export function mlpToOnnx(p: MlpParams, meta: { name: string; version: number; doc: string; features: string[] }): Uint8Array {
  const graph: onnx.IGraphProto = {
    name: meta.name,
    docString: meta.doc,
    node: [
      { opType: 'Relu', input: ['features'], output: ['nonneg'] },
      { opType: 'Add', input: ['nonneg', 'one'], output: ['plus1'] },
      { opType: 'Log', input: ['plus1'], output: ['logged'] },
      { opType: 'Sub', input: ['logged', 'mean'], output: ['centred'] },
      { opType: 'Div', input: ['centred', 'std'], output: ['z'] },
      { opType: 'Gemm', input: ['z', 'w1', 'b1'], output: ['pre'] },
      { opType: 'Relu', input: ['pre'], output: ['hidden'] },
      { opType: 'Gemm', input: ['hidden', 'w2', 'b2'], output: ['logit'] },
      { opType: 'Sigmoid', input: ['logit'], output: ['probability'] },
    ],
    initializer: [
      tensor('one', [1], [1]),
      tensor('mean', [p.inputs], p.mean),
      tensor('std', [p.inputs], p.std),
      tensor('w1', [p.inputs, p.hidden], p.w1),
      tensor('b1', [p.hidden], p.b1),
      tensor('w2', [p.hidden, 1], p.w2),
      tensor('b2', [1], [p.b2]),
    ],
    input: [valueInfo('features', ['N', p.inputs])],
    output: [valueInfo('probability', ['N', 1])],
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'tributary-ml-tools',
    producerVersion: '1',
    modelVersion: meta.version,
    docString: meta.doc,
    opsetImport: [{ domain: '', version: 17 }],
    metadataProps: [{ key: 'features', value: meta.features.join(',') }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
