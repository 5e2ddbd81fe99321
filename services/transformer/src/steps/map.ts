/**
 * `map`: sets fields to JSONata expressions evaluated on the record as it was before the step.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import { compileExpression } from '@tributary/contract/expressions';
import type { StepFactory } from './step';
import { copyRecord } from '../values/copy-record';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.map;

/** Creates the step, compiling every expression once. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const exprs = Object.entries(config).map(
    ([field, source]) =>
      [field, compileExpression(source, `datasets.${deps.dataset}.steps[${deps.index}].map.${field}`, deps.hmacKey)] as const,
  );
  // Synchronous while every expression takes the fast path: no promise per record.
  const finish = async (record: Rec, out: Rec, from: number, first: Promise<unknown>): Promise<Rec> => {
    for (let i = from; i < exprs.length; i++) {
      const [field, expr] = exprs[i]!;
      const v = i === from ? await first : await expr.evaluate(record);
      if (v === undefined) delete out[field];
      else out[field] = v;
    }
    return out;
  };
  return {
    kind: 'map',
    apply(record) {
      const out = copyRecord(record);
      for (let i = 0; i < exprs.length; i++) {
        const [field, expr] = exprs[i]!;
        const v = expr.evaluate(record);
        if (v instanceof Promise) return finish(record, out, i, v);
        if (v === undefined) delete out[field];
        else out[field] = v;
      }
      return out;
    },
  };
};
