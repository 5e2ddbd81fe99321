/**
 * `code`: logic no declarative step covers, in a CommonJS module beside the pipeline file. The
 * module exports `apply(record)` (a record, `null` to filter, or throw to dead-letter), or
 * `create(options)` returning `{ apply }` or `{ applyBatch(items, ctx) }` with the same contract
 * as built-in steps (so a batch step must derive its outputs from the batch and `ctx.inputId` alone
 * to stay exact under redelivery). TypeScript is compiled by the project's own build first.
 */
import path from 'node:path';
import { STEP_SPECS } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import type { Step, StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.code;

type UserModule = Partial<Pick<Step, 'apply' | 'applyBatch'>> & { create?: (options: Record<string, unknown>) => Partial<Step> };

/** Loads the module (relative to the pipeline file) and builds the step; a bad module is TRIB_E_SPEC. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const where = `datasets.${deps.dataset}.steps[${deps.index}].code`;
  const file = path.resolve(deps.pipeline.dir, config.module);
  let mod: UserModule;
  try {
    mod = require(file) as UserModule;
  } catch (err) {
    throw new TributaryError('TRIB_E_SPEC', `${where}: cannot load ${file}: ${(err as Error).message}`, { cause: err });
  }
  const impl: Partial<Step> = typeof mod.create === 'function' ? mod.create(config.options) : mod;
  if (typeof impl.apply !== 'function' && typeof impl.applyBatch !== 'function') {
    throw new TributaryError('TRIB_E_SPEC', `${where}: ${file} exports neither apply(record), applyBatch(items, ctx) nor create(options)`);
  }
  const step: Step = { kind: 'code' };
  if (impl.applyBatch) {
    const batch = impl.applyBatch.bind(impl);
    // A module that throws on a whole batch has a bug or bad data, not a transient failure: the
    // message is isolated and dead-lettered instead of retried forever.
    step.applyBatch = async (items, ctx) => {
      try {
        return await batch(items, ctx);
      } catch (err) {
        if (err instanceof TributaryError) throw err;
        throw new TributaryError('TRIB_E_STEP', `${where}: ${(err as Error).message}`, { cause: err });
      }
    };
  } else step.apply = impl.apply!.bind(impl);
  return step;
};
