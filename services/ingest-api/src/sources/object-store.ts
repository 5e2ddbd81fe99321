/**
 * `object_store` source (work in progress).
 */
import { objectStoreSourceSpec, TributaryError } from '@tributary/core';
import { pullSource } from './pull-source';

/** Config shape of the object_store source (from the core spec). */
export const spec = objectStoreSourceSpec;

/** Creates the source; the run is not implemented yet. */
export const create = pullSource<typeof spec>(() => ({
  async run() {
    throw new TributaryError('TRIB_E_INTERNAL', 'object_store is not implemented yet');
  },
}));
