/**
 * `cast`: converts fields to a type; a value that cannot be converted dead-letters the record.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import { castValue } from '../values/cast-value';
import type { StepFactory } from './step';
import { copyRecord } from '../values/copy-record';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.cast;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config) => {
  const pairs = Object.entries(config);
  return {
    kind: 'cast',
    apply(record) {
      const out = copyRecord(record);
      for (const [field, type] of pairs) if (field in out) out[field] = castValue(field, type, out[field]);
      return out;
    },
  };
};
