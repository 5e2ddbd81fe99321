/**
 * Where a dead letter replays to and what it sends: the stored (or fixed) record back to the raw
 * or processed subject it was going to, in its own pipeline only. A record bound for a raw subject
 * is checked against the source's current schema first, as ingest would, so a replay never slips
 * past the contract (a pipeline without a `validate` step would load it unchecked).
 */
import { compileSchema, schemaKindOf, type RecordSchema, type SchemaProblem } from '@tributary/contract/schema';
import { type Pipeline } from '@tributary/contract/spec';
import type { RecordHints } from '@tributary/contract/monitor-api';
import type { DeadLetterView } from './dead-letter-store';

/** The subject a dead letter replays to. */
export interface ReplayTarget {
  subject: string;
  kind: 'raw' | 'processed';
  /** Source (raw) or dataset (processed). */
  name: string;
}

/** Where `d` replays to, or why it cannot. */
export function replayTarget(d: Pick<DeadLetterView, 'replay_subject' | 'pipeline'>): ReplayTarget | string {
  const subject = d.replay_subject;
  const tokens = subject?.split('.') ?? [];
  // Only the two streams a stage consumes, and only this dead letter's own pipeline.
  if (!subject || tokens.length !== 4 || tokens[0] !== 'trib' || tokens[2] !== d.pipeline) return `no valid replay subject (${subject})`;
  const kind = tokens[1];
  if (kind !== 'raw' && kind !== 'processed') return `replay subject ${subject} is not a raw or processed subject`;
  return { subject, kind, name: tokens[3]! };
}

/** The body of a replay: a record as one NDJSON line; a whole message stored as text, as it was. */
export function replayBody(record: unknown): { body: string; count: number } | string {
  if (record === null || record === undefined) return 'the record was not stored, so it cannot be replayed';
  if (typeof record === 'string') return { body: record, count: record.split('\n').filter((l) => l.trim() !== '').length };
  return { body: JSON.stringify(record), count: 1 };
}

/** The records of a replay body (a whole message stored as text holds several); undefined when a line is not JSON. */
export function replayRecords(record: unknown): unknown[] | undefined {
  if (typeof record !== 'string') return [record];
  try {
    return record
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as unknown);
  } catch {
    return undefined;
  }
}

/** Source schemas of the loaded pipelines, compiled once, to check records replayed to raw subjects. */
export class SourceChecks {
  private readonly compiled = new Map<string, RecordSchema | undefined>();

  constructor(private readonly pipelines: readonly Pipeline[]) {}

  /** Why `record` fails the schema of `pipeline`'s `source` (named by its file), or undefined. */
  check(pipeline: string, source: string, record: unknown): (SchemaProblem & { schema?: string }) | undefined {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) return { message: 'a record must be a JSON object' };
    const key = `${pipeline}/${source}`;
    if (!this.compiled.has(key)) {
      const p = this.pipelines.find((x) => x.name === pipeline);
      const ref = p?.sources[source]?.schema;
      const doc = ref ? p.schemas[ref] : undefined;
      this.compiled.set(key, ref && doc !== undefined ? compileSchema(doc, ref, schemaKindOf(ref)) : undefined);
    }
    const schema = this.compiled.get(key);
    const r = schema?.check(record);
    return r && 'problem' in r ? { ...r.problem, schema: schema!.ref } : undefined;
  }
}

/** What an edited record of `d` must satisfy where it replays to (the console shows it beside the editor). */
export function recordHints(pipelines: readonly Pipeline[], d: Pick<DeadLetterView, 'replay_subject' | 'pipeline'>): RecordHints {
  const target = replayTarget(d);
  const p = pipelines.find((x) => x.name === d.pipeline);
  if (typeof target === 'string' || !p) return {};
  if (target.kind === 'raw') {
    const ref = p.sources[target.name]?.schema;
    return ref && p.schemas[ref] !== undefined ? { schema: { ref, doc: p.schemas[ref] } } : {};
  }
  const ds = p.datasets.find((x) => x.name === target.name);
  return ds ? { fields: ds.fields.map((f) => ({ name: f.name, type: f.type, required: f.required })) } : {};
}
