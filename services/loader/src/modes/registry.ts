/**
 * The load modes, by name. A test checks this list against core's MODE_SPECS and the files here.
 */
import * as accumulating from './accumulating';
import * as aggregate from './aggregate';
import * as append from './append';
import * as scd2 from './scd2';
import * as upsert from './upsert';

/** Every load mode implementation. */
export const MODES = { append, upsert, aggregate, scd2, accumulating } as const;
