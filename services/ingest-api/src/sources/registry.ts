/**
 * The source kinds the ingest-api runs, by `kind`. A test checks this list against core's
 * SOURCE_SPECS and the files in this folder.
 */
import * as file from './file';
import * as generator from './generator';
import * as objectStore from './object-store';
import * as postgresCdc from './postgres-cdc';
import * as postgresPoll from './postgres-poll';
import * as push from './push';
import * as rest from './rest';

/** Every source kind implementation. */
export const SOURCES = {
  push,
  generator,
  postgres_cdc: postgresCdc,
  postgres_poll: postgresPoll,
  file,
  object_store: objectStore,
  rest,
} as const;
