/**
 * The shapes of the reports API as the report pages read them (the server's are in
 * services/monitor/src/reports).
 */

/** A report in the list. */
export interface ReportSummary {
  name: string;
  title: string;
  description: string | null;
  pipelines: string[];
  refresh: 'live' | 'manual';
  problems: number;
  url: string;
}

/** A declared input. */
export type InputSpec =
  | { kind: 'date_range'; label?: string; default?: { from: string; to: string } }
  | { kind: 'dropdown'; label?: string; query: string; all: boolean; default?: string }
  | { kind: 'text'; label?: string; placeholder?: string; default: string };

/** A component of the page. */
export interface Component {
  id: string;
  kind: string;
  line: number;
  options: Record<string, unknown> & { query: string; title?: string };
}

/** A report with its parts. */
export interface ReportDetail extends Omit<ReportSummary, 'problems'> {
  file: string;
  inputs: Record<string, InputSpec>;
  blocks: ({ kind: 'markdown'; text: string; line: number } | { kind: 'component'; id: string })[];
  components: Component[];
  queries: Record<string, { line: number; tables: { pipeline: string; table: string }[] }>;
  inline: { query: string; column: string; line: number }[];
  problems: { file: string; line: number; message: string }[];
}

/** An error of a query or chart. */
export interface TileError {
  code: string;
  message: string;
  line?: number;
}

/** Rows of a query. */
export interface QueryResult {
  columns: { name: string; type: string }[];
  rows: unknown[][];
  truncated: boolean;
  ms: number;
  /** When the query ran (the monitor shares one run among every page with the same report, inputs and loads). */
  ran_at: string;
  /** The newest ingest time loaded into the tables it reads, when it ran. */
  as_of: string | null;
  /** Loads committed since it ran; the refresh policy holds the re-run back until `next_at`. */
  stale: boolean;
  next_at: string | null;
}

/** One refresh. */
export interface ReportData {
  ran_at: string;
  results: Record<string, QueryResult | { error: TileError; ran_at?: string }>;
  charts: Record<string, { option: Record<string, unknown> } | { error: TileError }>;
}
