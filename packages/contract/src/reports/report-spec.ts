/**
 * The shape of a report file (docs/reports.md): YAML front matter, Markdown text, named SQL
 * queries (```sql <name>) and components (```<component>) whose YAML options say which query's
 * rows they draw. One zod schema per component kind, so an unknown component or option is an
 * error naming the file and line, like the pipeline spec's.
 */
import { z } from 'zod';
import { duration } from '../spec/common';

const name = z.string().regex(/^[a-z_][a-z0-9_]*$/, 'use snake_case: lower-case letters, digits and _');
const column = z.string().min(1);
const title = z.string().optional();

/** A date as `YYYY-MM-DD`, or relative to today: `today`, `-7d`, `+6d`. */
export const DATE_EXPRESSION = /^(today|[+-]\d{1,4}d|\d{4}-\d{2}-\d{2})$/;

/** Input kinds: each one is bound to SQL as typed parameters, never spliced in as text. */
export const INPUT_SPECS = {
  date_range: z.strictObject({
    kind: z.literal('date_range'),
    label: z.string().optional(),
    /** Default bounds, e.g. `{ from: -7d, to: today }`. */
    default: z.strictObject({ from: z.string().regex(DATE_EXPRESSION), to: z.string().regex(DATE_EXPRESSION) }).optional(),
  }),
  dropdown: z.strictObject({
    kind: z.literal('dropdown'),
    label: z.string().optional(),
    /** The query whose first column fills the options (a second column, when present, is the label). */
    query: name,
    /** Adds an "all" option whose value is NULL. */
    all: z.boolean().default(false),
    default: z.string().optional(),
  }),
  text: z.strictObject({
    kind: z.literal('text'),
    label: z.string().optional(),
    placeholder: z.string().optional(),
    default: z.string().default(''),
  }),
} as const;

/** One declared input. */
export type InputSpec = z.output<(typeof INPUT_SPECS)[keyof typeof INPUT_SPECS]>;
/** An input kind. */
export type InputKind = keyof typeof INPUT_SPECS;

/** The front matter. */
export const frontMatterSchema = z.strictObject({
  title: z.string().min(1),
  description: z.string().optional(),
  /** Pipelines whose tables the report reads: their loads refresh it, their SLA judges its age. */
  pipelines: z.array(z.string()).min(1),
  /** `live`: tiles re-run when a load commits to a table they read; `manual`: on inputs and reload only. */
  refresh: z.enum(['live', 'manual']).default('live'),
  /**
   * Least time between two runs of one query (with the same inputs) as loads commit, e.g. `30s`;
   * the monitor's `MONITOR_REPORTS_REFRESH_FLOOR` when absent.
   */
  refresh_floor: duration.optional(),
  /** A query runs again at most once per this many times its last run time; the monitor's `MONITOR_REPORTS_REFRESH_FACTOR` when absent. */
  refresh_factor: z.number().min(1).max(10_000).optional(),
  inputs: z.record(name, z.unknown()).default({}),
});

/** Parsed front matter. */
export type FrontMatter = z.output<typeof frontMatterSchema>;

const ys = z.union([column, z.array(column).min(1)]);
const format = z.enum(['number', 'integer', 'percent', 'currency', 'date', 'datetime', 'duration']).optional();

/** Components, by the name written after the opening fence. */
export const COMPONENT_SPECS = {
  big_number: z.strictObject({
    query: name,
    value: column,
    title,
    /** A column of the same row to compare with (e.g. the previous period). */
    comparison: column.optional(),
    comparison_label: z.string().optional(),
    format,
  }),
  table: z.strictObject({
    query: name,
    title,
    columns: z.array(column).optional(),
    page_size: z.number().int().min(1).max(500).default(10),
    /** Initial sort: a column, `-column` for descending. */
    sort: z.string().optional(),
  }),
  line_chart: z.strictObject({ query: name, title, x: column, y: ys, series: column.optional(), y_label: z.string().optional() }),
  area_chart: z.strictObject({
    query: name,
    title,
    x: column,
    y: ys,
    series: column.optional(),
    stacked: z.boolean().default(false),
    y_label: z.string().optional(),
  }),
  bar_chart: z.strictObject({
    query: name,
    title,
    x: column,
    y: ys,
    series: column.optional(),
    stacked: z.boolean().default(false),
    horizontal: z.boolean().default(false),
    y_label: z.string().optional(),
  }),
  histogram: z.strictObject({ query: name, title, value: column, bins: z.number().int().min(2).max(200).default(20) }),
  heatmap: z.strictObject({ query: name, title, x: column, y: column, value: column }),
  map: z.strictObject({ query: name, title, lat: column, lon: column, value: column.optional(), label: column.optional() }),
} as const;

/** A component kind. */
export type ComponentKind = keyof typeof COMPONENT_SPECS;
/** A component's options. */
export type ComponentOptions = z.output<(typeof COMPONENT_SPECS)[ComponentKind]>;

/** A problem in a report file; `line` is 1-based in the file. */
export interface ReportProblem {
  file: string;
  line: number;
  message: string;
}

/** A named query. */
export interface ReportQuery {
  name: string;
  /** The SQL as written, with `${input}` references. */
  sql: string;
  /** Line of the first SQL line in the file. */
  line: number;
}

/** A component placed in the page. */
export interface ReportComponent {
  /** Stable within the file: `c<n>` in order of appearance. */
  id: string;
  kind: ComponentKind;
  options: ComponentOptions;
  line: number;
}

/** A piece of the page, in order. */
export type ReportBlock = { kind: 'markdown'; text: string; line: number } | { kind: 'component'; id: string };

/** A parsed report. `problems` empty means valid. */
export interface Report {
  /** File name without `.md`: the report's URL name. */
  name: string;
  file: string;
  front?: FrontMatter;
  inputs: Record<string, InputSpec>;
  queries: Record<string, ReportQuery>;
  components: ReportComponent[];
  blocks: ReportBlock[];
  /** `{{ query.column }}` references in the text. */
  inline: { query: string; column: string; line: number }[];
  problems: ReportProblem[];
}
