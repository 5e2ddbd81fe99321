/**
 * `emit`: publishes each record reaching this step as an event on `trib.events.<pipeline>.<name>`
 * (alerts: a fraud flag, a speeding vehicle) and passes it on unchanged. The transformer publishes
 * the events with the dataset's output, before the input is acked, one message per record with
 * the ID `<input ID>:<dataset>:event:<name>:<n>`, so a redelivery publishes the same IDs.
 */
import { STEP_SPECS } from '@tributary/contract/spec';
import { type Rec } from '@tributary/contract/codec';
import type { StepFactory } from './step';

/** Config shape (from the core spec). */
export const spec = STEP_SPECS.emit;

/** Creates the step. */
export const create: StepFactory<typeof spec> = (name) => ({
  kind: 'emit',
  async applyBatch(items) {
    return { items, filtered: 0, failures: [], events: new Map<string, Rec[]>([[name, items.map((it) => it.record)]]) };
  },
});
