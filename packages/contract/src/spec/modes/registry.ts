/**
 * The registry of load modes, one file per mode beside it (`modes/<mode>.ts`), and the table declaration. Each mode's implementation
 * (loader `modes/<mode>.ts`) re-exports its shape as `spec`; a registry test checks that both agree.
 */
import { z } from 'zod';
import { accumulatingSpec } from './accumulating';
import { aggregateModeSpec } from './aggregate';
import { appendModeSpec } from './append';
import { scd2Spec } from './scd2';
import { upsertModeSpec } from './upsert';

/** Config of each load mode, keyed by mode name. */
export const MODE_SPECS = {
  append: appendModeSpec,
  upsert: upsertModeSpec,
  aggregate: aggregateModeSpec,
  scd2: scd2Spec,
  accumulating: accumulatingSpec,
} as const;

/** A load mode name. */
export type LoadMode = keyof typeof MODE_SPECS;

/** A table declaration. */
export const tableSpec = z.discriminatedUnion('mode', [
  MODE_SPECS.append,
  MODE_SPECS.upsert,
  MODE_SPECS.aggregate,
  MODE_SPECS.scd2,
  MODE_SPECS.accumulating,
]);

/** A parsed table declaration. */
export type TableSpec = z.infer<typeof tableSpec>;
