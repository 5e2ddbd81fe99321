/**
 * What a pipeline needs to know about an ONNX model without running it: its identity (sha256 of
 * the file, graph name, `model_version`) and its signature (the graph's inputs and outputs with
 * element types and shapes), so `validate` can check a `model` step's mapping before anything runs.
 *
 * Written by hand on protobufjs's `Reader` (already a dependency here) rather than with the
 * generated `onnx-proto` classes: a signature is nine fields of four messages, while `onnx-proto`
 * would add a second protobufjs major and 23 MB to every service that loads pipelines. A test
 * checks this reader against `onnx-proto`'s full decode of the shipped model.
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs';

/** ONNX `TensorProto.DataType` values a `model` step can feed or read, by name. */
export const ONNX_ELEMENT_TYPES: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  12: 'uint32',
  13: 'uint64',
};

/** One input or output of a model's graph. */
export interface OnnxTensorInfo {
  name: string;
  /** Element type by name (`float32`, `int64`, ...), or `type <n>` for one not listed, `non-tensor` for maps and sequences. */
  type: string;
  /** Dimensions: a number when fixed, a string when symbolic (`N`, `batch`), null when unknown; undefined shape = any rank. */
  shape?: (number | string | null)[];
}

/** A model file's identity and signature. */
export interface OnnxSignature {
  /** sha256 of the file, hex. */
  sha256: string;
  /** The graph's name (the file name without `.onnx` when the graph has none). */
  name: string;
  /** `model_version` of the model (0 when unset). */
  version: number;
  producer: string;
  inputs: OnnxTensorInfo[];
  outputs: OnnxTensorInfo[];
}

type Reader = protobuf.Reader;

/** Reads the length-delimited message at the reader's position with `read(sub)`. */
function sub<T>(r: Reader, read: (m: Reader, end: number) => T): T {
  const len = r.uint32();
  const end = r.pos + len;
  if (end > r.len) throw new Error(`a field runs past the end of the file (truncated?)`);
  return read(r, end);
}

function readDim(r: Reader, end: number): number | string | null {
  let dim: number | string | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) dim = Number(r.int64());
    else if (tag >>> 3 === 2 && (tag & 7) === 2) dim = r.string();
    else r.skipType(tag & 7);
  }
  return dim;
}

function readShape(r: Reader, end: number): (number | string | null)[] {
  const dims: (number | string | null)[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) dims.push(sub(r, readDim));
    else r.skipType(tag & 7);
  }
  return dims;
}

/** `TypeProto.Tensor`: elem_type (1), shape (2). */
function readTensorType(r: Reader, end: number): { type: string; shape?: (number | string | null)[] } {
  let elem = 0;
  let shape: (number | string | null)[] | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 0) elem = r.int32();
    else if (tag >>> 3 === 2 && (tag & 7) === 2) shape = sub(r, readShape);
    else r.skipType(tag & 7);
  }
  return { type: ONNX_ELEMENT_TYPES[elem] ?? `type ${elem}`, ...(shape ? { shape } : {}) };
}

/** `ValueInfoProto`: name (1), type (2) → `TypeProto`: tensor_type (1). */
function readValueInfo(r: Reader, end: number): OnnxTensorInfo {
  let name = '';
  let info: { type: string; shape?: (number | string | null)[] } = { type: 'non-tensor' };
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) name = r.string();
    else if (tag >>> 3 === 2 && (tag & 7) === 2) {
      info = sub(r, (t, tEnd) => {
        let out: { type: string; shape?: (number | string | null)[] } = { type: 'non-tensor' };
        while (t.pos < tEnd) {
          const tt = t.uint32();
          if (tt >>> 3 === 1 && (tt & 7) === 2) out = sub(t, readTensorType);
          else t.skipType(tt & 7);
        }
        return out;
      });
    } else r.skipType(tag & 7);
  }
  return { name, ...info };
}

/** The name (field 1) of a `TensorProto` initializer. */
function readInitializerName(r: Reader, end: number): string {
  let name = '';
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 8 && (tag & 7) === 2) name = r.string();
    else r.skipType(tag & 7);
  }
  return name;
}

/** `GraphProto`: name (2), initializer (5), input (11), output (12). */
function readGraph(r: Reader, end: number) {
  let name = '';
  const inputs: OnnxTensorInfo[] = [];
  const outputs: OnnxTensorInfo[] = [];
  const initializers = new Set<string>();
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 2 && (tag & 7) === 2) name = r.string();
    else if (field === 5 && (tag & 7) === 2) initializers.add(sub(r, readInitializerName));
    else if (field === 11 && (tag & 7) === 2) inputs.push(sub(r, readValueInfo));
    else if (field === 12 && (tag & 7) === 2) outputs.push(sub(r, readValueInfo));
    else r.skipType(tag & 7);
  }
  // Older exporters list initializers among the inputs too; those are weights, not feeds.
  return { name, inputs: inputs.filter((i) => !initializers.has(i.name)), outputs };
}

/**
 * Reads the identity and signature of an ONNX model file's bytes (`file` names it in errors and
 * gives the default name). Throws a plain Error saying what is wrong when the bytes are not an
 * ONNX model.
 */
export function onnxSignature(bytes: Uint8Array, file: string): OnnxSignature {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (bytes.length === 0) throw new Error('the file is empty');
  const r = protobuf.Reader.create(bytes);
  let irVersion = 0;
  let version = 0;
  let producer = '';
  let graph: ReturnType<typeof readGraph> | undefined;
  try {
    // ModelProto: ir_version (1), producer_name (2), model_version (5), graph (7).
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 1 && (tag & 7) === 0) irVersion = Number(r.int64());
      else if (field === 2 && (tag & 7) === 2) producer = r.string();
      else if (field === 5 && (tag & 7) === 0) version = Number(r.int64());
      else if (field === 7 && (tag & 7) === 2) graph = sub(r, readGraph);
      else r.skipType(tag & 7);
    }
  } catch (err) {
    throw new Error(`not an ONNX model (protobuf decoding failed at byte ${r.pos}: ${(err as Error).message})`, { cause: err });
  }
  if (irVersion <= 0 || !graph) throw new Error('not an ONNX model (no ir_version or no graph)');
  if (graph.inputs.length === 0 || graph.outputs.length === 0) throw new Error('the model graph declares no inputs or no outputs');
  const base = file.replace(/^.*[\\/]/, '').replace(/\.onnx$/i, '');
  return { sha256, name: graph.name || base, version, producer, inputs: graph.inputs, outputs: graph.outputs };
}

/** The model's identity as it travels in `Trib-Model` headers, lineage and the model column: `<name>@<version> sha256:<hex>`. */
export function modelIdentity(sig: Pick<OnnxSignature, 'name' | 'version' | 'sha256'>): string {
  return `${sig.name}@${sig.version} sha256:${sig.sha256}`;
}
