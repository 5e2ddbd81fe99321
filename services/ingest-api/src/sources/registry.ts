/**
 * The source kinds the ingest-api runs, by `kind`. A test checks this list against core's
 * SOURCE_SPECS and the files in this folder.
 */
import * as generator from './generator';
import * as push from './push';

/** Every source kind implementation. */
export const SOURCES = {
  push,
  generator,
} as const;
