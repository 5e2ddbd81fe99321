/**
 * The load modes, by name. A test checks this list against core's MODE_SPECS and the files here;
 * the type below checks each module's shape, so `createMode` needs no cast.
 */
import type { MODE_SPECS, Table } from '@tributary/contract/spec';
import type { z } from 'zod';
import * as accumulating from './accumulating';
import * as aggregate from './aggregate';
import * as append from './append';
import type { LoadModeImpl, ModeDeps, ModeFactory } from './mode';
import * as scd2 from './scd2';
import * as upsert from './upsert';

type Specs = typeof MODE_SPECS;

/** Every load mode implementation. */
export const MODES: { readonly [K in keyof Specs]: { spec: Specs[K]; create: ModeFactory<Specs[K]> } } = {
  append,
  upsert,
  aggregate,
  scd2,
  accumulating,
};

/** Builds the load mode a table declares. */
export function createMode<K extends keyof Specs>(table: z.output<Specs[K]> & Table & { mode: K }, deps: ModeDeps): LoadModeImpl {
  const create: ModeFactory<Specs[K]> = MODES[table.mode].create;
  return create(table, deps);
}
