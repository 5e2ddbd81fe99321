/**
 * `model`: scores a batch of records with an ONNX model on the CPU, one inference per batch. The
 * records' input fields fill one tensor per model input (a row per record), the model runs once,
 * and each output field is read from its tensor's row. The model's identity goes into
 * `model_field` and the batch outcome (the app sends it as `Trib-Model` with the dataset).
 *
 * Exact under redelivery and across replicas: a record's scores depend only on its own fields and
 * the model file, so the same input with the same model gives the same output, whichever batch
 * (or replica) it lands in. The model is chosen once per batch (`ModelFile.current`), so a file
 * replaced on disk takes effect between batches; a redelivered message's outputs keep the IDs of
 * the first delivery, so JetStream and the loader's ledger keep its first scores.
 */
import path from 'node:path';
import { inputFields, outputOf, STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { Tensor } from 'onnxruntime-node';
import { ModelFile, type ModelChange } from '../models/onnx-model';
import type { BatchItem, StepFactory, StepFailure } from './step';
import { copyRecord } from '../values/copy-record';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.model;

type Numeric = Float32Array | Float64Array | Int32Array | BigInt64Array;

/** A typed array for an element type the spec allows (validate checked the model's). */
function typedArray(type: string, n: number): Numeric {
  if (type === 'float64') return new Float64Array(n);
  if (type === 'int32') return new Int32Array(n);
  if (type === 'int64') return new BigInt64Array(n);
  return new Float32Array(n);
}

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].model`;
  const file = deps.pipeline.models?.[config.file]?.path ?? path.resolve(deps.pipeline.dir, config.file);
  const inputs = Object.entries(config.inputs).map(([tensor, f]) => ({ tensor, fields: inputFields(f) }));
  const outputs = Object.entries(config.outputs).map(([field, o]) => ({ field, ...outputOf(o) }));
  const outputNames = [...new Set(outputs.map((o) => o.tensor))];
  const impute = new Map(Object.entries(config.impute));
  let model: ModelFile | undefined;
  let onChange: (c: ModelChange) => void = () => undefined;

  /** The value of `field` for the tensor, or why there is none: `missing`, or a failure. */
  function valueOf(rec: Rec, field: string, integer: boolean): number | 'missing' | TributaryError {
    const v = rec[field];
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return 'missing';
      if (integer && !Number.isInteger(v)) {
        return new TributaryError('TRIB_E_VALIDATION', `${where}: input field "${field}" is ${v}, the model takes integers`, {
          location: { field },
        });
      }
      return v;
    }
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (v === null || v === undefined) return 'missing';
    return new TributaryError(
      'TRIB_E_VALIDATION',
      `${where}: input field "${field}" is a ${typeof v} (${JSON.stringify(v).slice(0, 40)}), the model takes numbers`,
      {
        location: { field },
      },
    );
  }

  return {
    kind: 'model',
    async open(services) {
      if (services.onModelChange) onChange = services.onModelChange;
      model = new ModelFile(file, config, where, (c) => onChange(c));
      await model.open();
    },
    async applyBatch(items) {
      // One model for the whole batch: a file replaced meanwhile is picked up by the next one.
      const m = await model!.current();
      const n = items.length;
      const feeds = inputs.map((input) => {
        const info = m.signature.inputs.find((t) => t.name === input.tensor)!;
        const type = info.type;
        return {
          ...input,
          type,
          rank: info.shape?.length ?? 2,
          integer: type === 'int32' || type === 'int64',
          data: typedArray(type, n * input.fields.length),
        };
      });
      const scored: BatchItem[] = [];
      const skipped = new Set<BatchItem>();
      const failures: StepFailure[] = [];
      for (const it of items) {
        let outcome: 'scored' | 'skip' | TributaryError = 'scored';
        const row = scored.length;
        for (const f of feeds) {
          const k = f.fields.length;
          for (let j = 0; j < k && outcome === 'scored'; j++) {
            const field = f.fields[j]!;
            let v = valueOf(it.record, field, f.integer);
            if (v === 'missing') {
              if (config.on_missing === 'impute') v = impute.get(field)!;
              else if (config.on_missing === 'skip') outcome = 'skip';
              else
                outcome = new TributaryError('TRIB_E_VALIDATION', `${where}: input field "${field}" is missing (on_missing: dead_letter)`, {
                  location: { field },
                });
            }
            if (typeof v !== 'number') {
              if (v instanceof TributaryError) outcome = v;
              break;
            }
            if (f.data instanceof BigInt64Array) f.data[row * k + j] = BigInt(v);
            else f.data[row * k + j] = v;
          }
          if (outcome !== 'scored') break;
        }
        if (outcome === 'scored') scored.push(it);
        else if (outcome === 'skip') skipped.add(it);
        else failures.push({ index: it.index, record: it.record, error: outcome });
      }
      const out = new Map<number, Rec>();
      if (scored.length > 0) {
        const rows = scored.length;
        const tensors: Record<string, Tensor> = {};
        for (const f of feeds) {
          const k = f.fields.length;
          const data = f.data.subarray(0, rows * k) as Numeric;
          tensors[f.tensor] = new Tensor(f.type as 'float32', data as Float32Array, f.rank === 1 ? [rows] : [rows, k]);
        }
        let results: Record<string, Tensor>;
        try {
          results = (await m.session.run(tensors, outputNames)) as Record<string, Tensor>;
        } catch (err) {
          throw new TributaryError('TRIB_E_ML_MODEL', `${where}: ${m.identity} failed on a batch of ${rows}: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const reads = outputs.map((o) => {
          const t = results[o.tensor]!;
          return { ...o, data: t.data as ArrayLike<number | bigint>, width: t.dims.length === 2 ? Number(t.dims[1]) : 1 };
        });
        scored.forEach((it, r) => {
          const rec = copyRecord(it.record);
          for (const o of reads) rec[o.field] = Number(o.data[r * o.width + o.index]);
          rec[config.model_field] = m.identity;
          out.set(it.index, rec);
        });
      }
      const kept: BatchItem[] = [];
      for (const it of items) {
        const rec = out.get(it.index);
        if (rec) {
          const bad = outputs.find((o) => !Number.isFinite(rec[o.field] as number));
          if (bad) {
            failures.push({
              index: it.index,
              record: it.record,
              error: new TributaryError('TRIB_E_STEP', `${where}: ${m.identity} gave ${String(rec[bad.field])} for output "${bad.field}"`, {
                location: { field: bad.field },
              }),
            });
          } else kept.push({ record: rec, index: it.index, ...(it.from ? { from: it.from } : {}) });
        } else if (skipped.has(it)) {
          const rec = copyRecord(it.record);
          rec[config.model_field] = null;
          for (const o of outputs) rec[o.field] = null;
          kept.push({ record: rec, index: it.index, ...(it.from ? { from: it.from } : {}) });
        }
      }
      return { items: kept, filtered: 0, failures, ...(scored.length > 0 ? { models: [m.identity] } : {}) };
    },
    async close() {
      await model?.close();
    },
  };
};
