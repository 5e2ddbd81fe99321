/**
 * The transform steps, by YAML name. A test checks this list against core's STEP_SPECS and the
 * files in this folder.
 */
import * as cast from './cast';
import * as drop from './drop';
import * as filter from './filter';
import * as map from './map';
import * as rename from './rename';
import * as validate from './validate';

/** Every step implementation. */
export const STEPS = { validate, map, filter, rename, cast, drop } as const;
