/**
 * The transform steps, by YAML name. A test checks this list against core's STEP_SPECS and the
 * files in this folder.
 */
import * as cast from './cast';
import * as code from './code';
import * as dedupe from './dedupe';
import * as drop from './drop';
import * as emit from './emit';
import * as enrich from './enrich';
import * as filter from './filter';
import * as join from './join';
import * as map from './map';
import * as model from './model';
import * as rename from './rename';
import * as route from './route';
import * as session from './session';
import * as sliding from './sliding';
import * as validate from './validate';
import * as window from './window';

/** Every step implementation. */
export const STEPS = {
  validate,
  map,
  filter,
  rename,
  cast,
  drop,
  window,
  dedupe,
  route,
  enrich,
  code,
  join,
  sliding,
  session,
  emit,
  model,
} as const;
