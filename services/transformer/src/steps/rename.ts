/**
 * `rename`: renames fields (`{ old: new }`); a missing field is left missing.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import type { StepFactory } from './step';
import { copyRecord } from '../values/copy-record';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.rename;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (config) => {
  const pairs = Object.entries(config);
  return {
    kind: 'rename',
    apply(record) {
      const out = copyRecord(record);
      for (const [from, to] of pairs) {
        if (from in out) {
          out[to] = out[from];
          delete out[from];
        }
      }
      return out;
    },
  };
};
