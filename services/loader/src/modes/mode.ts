/**
 * The shape of a load mode: a spec (zod, from core) and a factory producing the SQL that merges
 * a staging table (rows of this flush, with `_ord` giving their order in the stream) into the target.
 */
import type { Dataset, Table } from '@tributary/core';
import type { z } from 'zod';

/** What a mode factory gets. */
export interface ModeDeps {
  dataset: Dataset;
  /** Quoted, schema-qualified target table. */
  target: string;
  /** Quoted staging table name. */
  staging: string;
}

/** A ready load mode. */
export interface LoadModeImpl {
  /**
   * SQL merging the staging table into the target. It must return one row per input message
   * that wrote rows: `(_msg_id, written)`.
   */
  mergeSql: string;
}

/** Builds a mode from the table's parsed config. */
export type ModeFactory<S extends z.ZodType> = (table: z.output<S> & Table, deps: ModeDeps) => LoadModeImpl;
