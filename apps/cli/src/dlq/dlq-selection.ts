/**
 * What a `tributary dlq` action works on, from its arguments: dead letters named by sequence, or
 * every open one matching filter options (`--pipeline` required then, so nothing acts on all
 * pipelines by accident); and how to fix the records first (`--set field=EXPR`, `--expression`,
 * `--record-file`), sent to the monitor as the console sends them.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../command';

/** The filter options every dlq subcommand takes. */
export const FILTER_OPTIONS = {
  pipeline: { type: 'string' },
  stage: { type: 'string' },
  name: { type: 'string' },
  code: { type: 'string' },
  field: { type: 'string' },
  schema: { type: 'string' },
  q: { type: 'string' },
} as const;

/** The fix options of preview and replay. */
export const FIX_OPTIONS = {
  set: { type: 'string', multiple: true },
  expression: { type: 'string' },
  'record-file': { type: 'string' },
} as const;

type Values = Partial<Record<keyof typeof FILTER_OPTIONS | 'expression' | 'record-file', string>> & { set?: string[] };

/** A filter from the options given (only those set). */
export function filterOf(values: Values): Record<string, string> {
  const f: Record<string, string> = {};
  for (const k of Object.keys(FILTER_OPTIONS) as (keyof typeof FILTER_OPTIONS)[]) if (values[k] !== undefined) f[k] = values[k];
  return f;
}

/** Dead letters named by sequence, or the filter; one of the two, never both. */
export function selectionOf(positionals: string[], values: Values): { seqs: number[] } | { filter: Record<string, string> } {
  const filter = filterOf(values);
  if (positionals.length > 0) {
    if (Object.keys(filter).length > 0) throw new UsageError('name dead letters by sequence or by filter options, not both');
    return { seqs: sequences(positionals) };
  }
  if (Object.keys(filter).length === 0)
    throw new UsageError('name dead letters by sequence, or select them with filter options (--pipeline and more)');
  if (!filter.pipeline) throw new UsageError('acting on dead letters by filter needs --pipeline');
  return { filter };
}

/** Sequence numbers from arguments. */
export function sequences(positionals: string[]): number[] {
  if (positionals.length === 0) throw new UsageError('name at least one dead letter by its sequence number (see `tributary dlq list`)');
  return positionals.map((p) => {
    if (!/^[1-9]\d*$/.test(p)) throw new UsageError(`"${p}" is not a dead letter's sequence number`);
    return Number(p);
  });
}

/** The fix to apply before a preview or replay, or undefined for the records as stored. */
export function fixOf(values: Values, selection: { seqs: number[] } | { filter: unknown }): Record<string, unknown> | undefined {
  const given = [values.set?.length ? 'set' : '', values.expression ? 'expression' : '', values['record-file'] ? 'record-file' : ''];
  if (given.filter(Boolean).length > 1) throw new UsageError('use one of --set, --expression and --record-file');
  if (values.expression) return { expression: values.expression };
  if (values.set?.length) {
    const set: Record<string, string> = {};
    for (const s of values.set) {
      const eq = s.indexOf('=');
      if (eq <= 0) throw new UsageError(`--set "${s}" is not field=EXPRESSION`);
      set[s.slice(0, eq).trim()] = s.slice(eq + 1);
    }
    return { set };
  }
  const file = values['record-file'];
  if (!file) return undefined;
  if (!('seqs' in selection) || selection.seqs.length !== 1)
    throw new UsageError('--record-file replaces the record of exactly one dead letter');
  let record: unknown;
  try {
    record = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`--record-file ${file}: ${(err as Error).message}`);
  }
  return { records: { [String(selection.seqs[0])]: record } };
}
