/**
 * The registry of source kinds, one file per kind beside it (`sources/<kind>.ts`). Each kind's implementation (ingest-api `sources/<kind>.ts`)
 * re-exports its shape as `spec`; a registry test checks that both lists agree.
 */
import { z } from 'zod';
import { generatorSourceSpec } from './generator';
import { pushSourceSpec } from './push';
import { restSourceSpec } from './rest';
import { fileSourceSpec } from './file';
import { objectStoreSourceSpec } from './object-store';
import { postgresCdcSourceSpec } from './postgres-cdc';
import { postgresPollSourceSpec } from './postgres-poll';

/** All source kinds, keyed by `kind`. */
export const SOURCE_SPECS = {
  push: pushSourceSpec,
  generator: generatorSourceSpec,
  rest: restSourceSpec,
  postgres_cdc: postgresCdcSourceSpec,
  postgres_poll: postgresPollSourceSpec,
  file: fileSourceSpec,
  object_store: objectStoreSourceSpec,
} as const;

/** A source declaration. */
export const sourceSpec = z.discriminatedUnion('kind', [
  pushSourceSpec,
  generatorSourceSpec,
  restSourceSpec,
  postgresCdcSourceSpec,
  postgresPollSourceSpec,
  fileSourceSpec,
  objectStoreSourceSpec,
]);

/** A parsed source declaration. */
export type SourceSpec = z.infer<typeof sourceSpec>;
