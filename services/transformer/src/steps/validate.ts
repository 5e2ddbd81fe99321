/**
 * `validate`: dead-letters records that do not satisfy a JSON Schema, naming the failing field.
 */
import { compileRecordSchema, STEP_SPECS, TributaryError } from '@tributary/core';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.validate;

/** Creates the step; the schema file was loaded and checked with the spec. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const check = compileRecordSchema(deps.pipeline.schemas[config.schema], config.schema);
  return {
    kind: 'validate',
    apply(record) {
      const problem = check(record);
      if (problem) {
        throw new TributaryError('TRIB_E_VALIDATION', `${config.schema}: ${problem.message}`, { location: { field: problem.field } });
      }
      return record;
    },
  };
};
