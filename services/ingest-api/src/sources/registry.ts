/**
 * The source kinds the ingest-api runs, by `kind`. A test checks this list against core's
 * SOURCE_SPECS and the files in this folder; the type below checks each module's shape, so
 * `createSource` needs no cast.
 */
import type { SOURCE_SPECS } from '@tributary/contract/spec';
import type { z } from 'zod';
import * as file from './file';
import * as generator from './generator';
import * as objectStore from './object-store';
import * as postgresCdc from './postgres-cdc';
import * as postgresPoll from './postgres-poll';
import * as push from './push';
import * as rest from './rest';
import type { SourceDeps, SourceFactory, SourceHandle } from './source';

type Specs = typeof SOURCE_SPECS;

/** Every source kind implementation. */
export const SOURCES: { readonly [K in keyof Specs]: { spec: Specs[K]; create: SourceFactory<Specs[K]> } } = {
  push,
  generator,
  postgres_cdc: postgresCdc,
  postgres_poll: postgresPoll,
  file,
  object_store: objectStore,
  rest,
};

/** Builds the source a pipeline declares, by its kind. */
export function createSource<K extends keyof Specs>(config: z.output<Specs[K]> & { kind: K }, deps: SourceDeps): SourceHandle {
  const create: SourceFactory<Specs[K]> = SOURCES[config.kind].create;
  return create(config, deps);
}
