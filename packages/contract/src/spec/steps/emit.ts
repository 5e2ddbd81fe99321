/** Config shape of the `emit` step (transformer `steps/emit.ts`). */
import { identifier } from '../common';

/** Config of the `emit` step: the name of the event stream. */
export const emitStepSpec = identifier.meta({
  description:
    'Publishes each record reaching this step as an event on `trib.events.<pipeline>.<name>` (one message per record, ID derived from the input message) and passes it on unchanged.',
});
