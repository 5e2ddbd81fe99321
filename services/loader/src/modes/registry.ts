/**
 * The load modes, by name. A test checks this list against core's MODE_SPECS and the files here.
 */
import * as append from './append';
import * as upsert from './upsert';

/** Every load mode implementation. */
export const MODES = { append, upsert } as const;
