/**
 * `route`: sends each record to the first target dataset whose condition holds; the rest stay in
 * this dataset. Routed records leave this dataset (counted as filtered here, and as `routed`) and
 * become the input of their target, which lists this dataset in `from`.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import { toTributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { compileExpression } from '@tributary/contract/expressions';
import type { BatchItem, StepFactory, StepFailure } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.route;

/** Creates the step, compiling every condition once. */
export const create: StepFactory<typeof spec> = (config, deps) => {
  const cases = Object.entries(config).map(
    ([target, source]) =>
      [target, compileExpression(source, `datasets.${deps.dataset}.steps[${deps.index}].route.${target}`, deps.hmacKey)] as const,
  );
  return {
    kind: 'route',
    async applyBatch(items) {
      const kept: BatchItem[] = [];
      const routed = new Map<string, Rec[]>(cases.map(([t]) => [t, []]));
      const failures: StepFailure[] = [];
      let moved = 0;
      for (const it of items) {
        try {
          let to: string | undefined;
          for (const [target, expr] of cases) {
            if (await expr.evaluate(it.record)) {
              to = target;
              break;
            }
          }
          if (to === undefined) kept.push(it);
          else {
            routed.get(to)!.push(it.record);
            moved++;
          }
        } catch (err) {
          failures.push({ index: it.index, record: it.record, error: toTributaryError(err, 'TRIB_E_STEP') });
        }
      }
      return { items: kept, filtered: moved, failures, routed };
    },
  };
};
