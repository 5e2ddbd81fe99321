/**
 * The preview (dry run) contract between the monitor and the transformer: the monitor's DLQ console
 * asks, over NATS request/reply on `trib.preview.<pipeline>`, what the current pipeline would do
 * with some records, and a transformer replica answers per record without publishing anything or
 * changing any state (docs/design.md, Wire contract).
 */
import type { ErrorCode } from '../errors';

/** A preview request: records run through the datasets fed by `source` (a source, or a dataset). */
export interface PreviewRequest {
  source: string;
  records: unknown[];
}

/** Why a record would be dead-lettered again. */
export interface PreviewError {
  stage: 'ingest' | 'transform' | 'load';
  /** The dataset whose steps or projection refused it (absent at ingest). */
  dataset?: string;
  code: ErrorCode | string;
  message: string;
  field?: string;
}

/** What would happen to one record. */
export interface PreviewResult {
  /** The record's position in the request. */
  index: number;
  /**
   * `load`: loaded into every table in `tables`; `filtered`: dropped on purpose by a step;
   * `dead_letter`: refused (see `errors`), whatever else happened to it in other datasets;
   * `nothing`: no dataset reads its source.
   */
  outcome: 'load' | 'filtered' | 'dead_letter' | 'nothing';
  /** Tables the record would be loaded into, with the dataset feeding each, and the row as projected. */
  tables: { table: string; dataset: string; row: Record<string, unknown> }[];
  /** Datasets whose steps filtered the record out. */
  filtered: string[];
  errors: PreviewError[];
}

/** The transformer's reply. */
export type PreviewReply = { results: PreviewResult[] } | { error: { code: string; message: string } };

/** The outcome of a record from its parts: a refusal wins, then a load, then a filter. */
export function previewOutcome(r: Pick<PreviewResult, 'tables' | 'filtered' | 'errors'>): PreviewResult['outcome'] {
  if (r.errors.length > 0) return 'dead_letter';
  if (r.tables.length > 0) return 'load';
  return r.filtered.length > 0 ? 'filtered' : 'nothing';
}
