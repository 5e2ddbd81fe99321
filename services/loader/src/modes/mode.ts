/**
 * The shape of a load mode: a spec (zod, from core) and a factory producing the SQL that merges
 * a staging table (rows of this flush, with `_ord` giving their order in the stream) into the target.
 */
import type { Dataset, Pipeline, Table } from '@tributary/contract/spec';
import type { z } from 'zod';

/** What a mode factory gets. */
export interface ModeDeps {
  dataset: Dataset;
  /** Quoted, schema-qualified target table. */
  target: string;
  /** Quoted staging table name. */
  staging: string;
  /** The pipeline (modes that read other tables' layout need it). */
  pipeline?: Pipeline;
  /**
   * Columns staged beside the dataset's fields and written like them: the surrogate keys filled
   * by dimension lookups. Empty for tables without lookups.
   */
  extraColumns?: readonly string[];
  /** Quoted name for a per-session temp table of the mode's own (e.g. an scd2 merge plan). */
  scratch?: string;
  /** The target is partitioned (PostgreSQL then returns no system columns from it: sql/row-outcome.ts). */
  partitioned?: boolean;
}

/** A ready load mode. */
export interface LoadModeImpl {
  /** Statements run once per database session before its first write (e.g. CREATE TEMP TABLE). */
  sessionSql?: readonly string[];
  /**
   * Statements run in order before `mergeSql`, in the same transaction: a mode that must lock,
   * plan, then write in separate steps (each statement sees the previous one's effect) puts them here.
   */
  beforeMerge?: readonly string[];
  /**
   * SQL merging the staging table into the target. It returns one row per input message whose
   * records did something to the table: `(_msg_id, inserted, updated, unchanged)` (integers; each
   * mode's meaning in docs/warehouse.md, Load counts). The message's other records are skipped.
   * A row whose data would not change is not rewritten.
   */
  mergeSql: string;
}

/** Builds a mode from the table's parsed config. */
export type ModeFactory<S extends z.ZodType> = (table: z.output<S> & Table, deps: ModeDeps) => LoadModeImpl;
