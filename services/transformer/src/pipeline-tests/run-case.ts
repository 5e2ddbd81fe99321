/**
 * Runs one pipeline test case (format: @tributary/contract, spec/pipeline-tests.ts) in process,
 * with no NATS and no warehouse: each source's `given` records are checked against the source's
 * schema as the ingest-api checks them, then run as one batch through the datasets by a fresh
 * PipelineRunner whose KV buckets are private and empty (memory-kv.ts), exactly the
 * steps the transformer runs. What would reach each table is collected per the table's mode, and
 * compared with what the case expects. Steps that need the warehouse (`enrich` from a table)
 * fail the case with the step's own error: those pipelines are tested against the real stack.
 */
import { isDeepStrictEqual } from 'node:util';
import { compileSchema, schemaKindOf, type RecordSchema } from '@tributary/contract/schema';
import { tablesOf, type ExpectedDeadLetter, type Pipeline, type PipelineTestCase } from '@tributary/contract/spec';
import { toTributaryError } from '@tributary/contract/errors';
import { type Rec } from '@tributary/contract/codec';
import { memoryKv } from '../memory-kv';
import { PipelineRunner, type DatasetResult } from '../pipeline-runner';
import { referenceKeys, storeReferences } from '../state/reference-store';

/** A dead letter the case produced. */
export interface ActualDeadLetter {
  source: string;
  /** Position in the source's `given` list; undefined when a downstream dataset refused a derived record. */
  index?: number;
  stage: 'ingest' | 'transform';
  dataset?: string;
  code: string;
  field?: string;
  message: string;
}

/** What a case produced. */
export interface CaseRun {
  tables: Record<string, Rec[]>;
  deadLetters: ActualDeadLetter[];
  filtered: Record<string, number>;
}

/** The outcome of a case: what it produced and every way that differs from the expectation. */
export interface CaseOutcome {
  name: string;
  run?: CaseRun;
  failures: string[];
}

/** Runs the case's records through the pipeline and returns what came out. */
export async function runCase(pipeline: Pipeline, c: PipelineTestCase, hmacKey: string): Promise<CaseRun> {
  const runner = new PipelineRunner(pipeline, hmacKey);
  const state = memoryKv();
  await runner.open({ state, dedupe: memoryKv(), join: memoryKv(), windows: memoryKv() });
  const refs = referenceKeys(pipeline);
  const offered = new Map<string, Rec[]>();
  const out: CaseRun = { tables: {}, deadLetters: [], filtered: {} };
  const collect = async (results: DatasetResult[], source: string, given?: number[]): Promise<void> => {
    for (const d of results) {
      await storeReferences(state, pipeline, refs, d.dataset, d.records);
      for (const t of tablesOf(pipeline, d.dataset)) offered.set(t.name, [...(offered.get(t.name) ?? []), ...d.records]);
      if (d.filtered > 0) out.filtered[d.dataset] = (out.filtered[d.dataset] ?? 0) + d.filtered;
      // Indexes of a dataset fed by the source itself are positions in the batch of records that passed ingest.
      const direct = given !== undefined && pipeline.datasets.find((x) => x.name === d.dataset)?.from.includes(source);
      for (const f of d.failures) {
        const index = direct ? given[f.index] : undefined;
        out.deadLetters.push({
          source,
          ...(index === undefined ? {} : { index }),
          stage: 'transform',
          dataset: d.dataset,
          code: f.error.code,
          ...(f.error.location.field ? { field: f.error.location.field } : {}),
          message: f.error.message,
        });
      }
    }
  };
  try {
    for (const [source, records] of Object.entries(c.given)) {
      const isSource = source in pipeline.sources;
      if (!isSource && !pipeline.datasets.some((d) => d.name === source))
        throw new Error(`given: pipeline ${pipeline.name} has no source or dataset "${source}"`);
      const schema = isSource ? sourceSchema(pipeline, source) : undefined;
      const passed: Rec[] = [];
      const given: number[] = [];
      for (const [index, rec] of records.entries()) {
        let problem: { field?: string; message: string } | undefined;
        let value = rec;
        if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) problem = { message: 'a record must be a JSON object' };
        else if (schema) {
          const checked = schema.check(rec);
          if ('problem' in checked) problem = checked.problem;
          else value = checked.record;
        }
        if (problem) {
          out.deadLetters.push({
            source,
            index,
            stage: 'ingest',
            code: 'TRIB_E_VALIDATION',
            ...(problem.field ? { field: problem.field } : {}),
            message: problem.message,
          });
        } else {
          passed.push(value as Rec);
          given.push(index);
        }
      }
      if (passed.length > 0) await collect(await runner.run(source, passed, `test:${source}`), source, given);
    }
    // Windows, joins waiting for partners and sessions: the case's stream ends here, so release everything.
    if (runner.hasClock()) for (const r of await runner.release(Number.MAX_SAFE_INTEGER)) await collect(r.results, r.source ?? r.dataset);
  } finally {
    await runner.close();
  }
  for (const t of pipeline.tables) out.tables[t.name] = rowsOf(t, offered.get(t.name) ?? []);
  return out;
}

function sourceSchema(pipeline: Pipeline, source: string): RecordSchema | undefined {
  const ref = pipeline.sources[source]?.schema;
  const doc = ref ? pipeline.schemas[ref] : undefined;
  return ref && doc !== undefined ? compileSchema(doc, ref, schemaKindOf(ref)) : undefined;
}

/** The rows a table ends with: every row for `append`, the last per key for `upsert`, else the rows offered. */
function rowsOf(table: Pipeline['tables'][number], rows: Rec[]): Rec[] {
  const key = (table as { key?: string[] }).key;
  if (table.mode !== 'upsert' || !key?.length) return rows;
  const last = new Map<string, Rec>();
  for (const r of rows) {
    const k = JSON.stringify(key.map((f) => r[f]));
    last.delete(k); // the table's order: a key's latest version takes its latest place
    last.set(k, r);
  }
  return [...last.values()];
}

const TIMESTAMP = /^(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/i;

/** A timestamp as (epoch seconds, nanoseconds), so `...01Z` and `...01.000Z` are the same instant and no digit is lost. */
function instant(v: unknown): string | undefined {
  const m = typeof v === 'string' ? TIMESTAMP.exec(v) : null;
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]!.replace(' ', 'T')}${m[3]!.toUpperCase()}`);
  return Number.isFinite(seconds) ? `${seconds / 1000}.${(m[2] ?? '').padEnd(9, '0')}` : undefined;
}

/**
 * Equal as the warehouse would store them: a YAML number and the same digits as a decimal string
 * are equal, and so are two spellings of one instant.
 */
function sameValue(expected: unknown, actual: unknown): boolean {
  if (isDeepStrictEqual(expected, actual)) return true;
  const t = instant(expected);
  if (t !== undefined && t === instant(actual)) return true;
  const scalar = (v: unknown): boolean => typeof v === 'number' || typeof v === 'string' || typeof v === 'bigint';
  if (scalar(expected) && scalar(actual)) {
    if (String(expected) === String(actual)) return true;
    // 48.30 and 48.3 are one value; beyond 15 significant digits a double cannot tell two apart,
    // so such values must be written with the very digits (a decimal or a 64-bit integer).
    const exact = (v: unknown): boolean =>
      String(v)
        .replace(/^[-+]?0*|\.|e.*$/gi, '')
        .replace(/0+$/, '').length <= 15;
    const a = Number(expected);
    const b = Number(actual);
    return Number.isFinite(a) && Number.isFinite(b) && a === b && exact(expected) && exact(actual);
  }
  return false;
}

function matchesDeadLetter(e: ExpectedDeadLetter, a: ActualDeadLetter, onlySource: string | undefined): boolean {
  return (
    (e.source ?? onlySource) === a.source &&
    e.index === a.index &&
    (e.stage === undefined || e.stage === a.stage) &&
    (e.dataset === undefined || e.dataset === a.dataset) &&
    (e.code === undefined || e.code === a.code) &&
    (e.field === undefined || e.field === a.field) &&
    (e.message_contains === undefined || a.message.includes(e.message_contains))
  );
}

const show = (v: unknown): string => JSON.stringify(v);
const describeDead = (d: ActualDeadLetter): string =>
  `${d.source}[${d.index ?? '?'}] ${d.stage}${d.dataset ? ` (${d.dataset})` : ''}: ${d.code}${d.field ? ` field ${d.field}` : ''}: ${d.message}`;

/** Every difference between what the case expects and what it produced, one line each. */
export function compareCase(pipeline: Pipeline, c: PipelineTestCase, run: CaseRun): string[] {
  const failures: string[] = [];
  for (const [table, expected] of Object.entries(c.expect.tables ?? {})) {
    const actual = run.tables[table];
    if (!actual) {
      failures.push(`table ${table}: pipeline ${pipeline.name} has no such table`);
      continue;
    }
    if (actual.length !== expected.length)
      failures.push(`table ${table}: expected ${expected.length} rows, got ${actual.length}: ${actual.map(show).join(', ') || 'none'}`);
    for (const [i, row] of expected.entries()) {
      const got = actual[i];
      if (!got) continue;
      for (const [field, value] of Object.entries(row)) {
        if (!sameValue(value, got[field]))
          failures.push(`table ${table} row ${i} field ${field}: expected ${show(value)}, got ${show(got[field])}`);
      }
    }
  }
  if (c.expect.dead_letters) {
    const sources = Object.keys(c.given);
    const onlySource = sources.length === 1 ? sources[0] : undefined;
    const left = [...run.deadLetters];
    for (const e of c.expect.dead_letters) {
      const at = left.findIndex((a) => matchesDeadLetter(e, a, onlySource));
      if (at >= 0) left.splice(at, 1);
      else failures.push(`dead letter expected but not produced: ${show(e)}`);
    }
    for (const a of left) failures.push(`unexpected dead letter: ${describeDead(a)}`);
  }
  for (const [dataset, n] of Object.entries(c.expect.filtered ?? {})) {
    if ((run.filtered[dataset] ?? 0) !== n) failures.push(`dataset ${dataset}: expected ${n} filtered, got ${run.filtered[dataset] ?? 0}`);
  }
  return failures;
}

/** Runs and checks one case; an error running it is a failure of the case, with its message. */
export async function testCase(pipeline: Pipeline, c: PipelineTestCase, hmacKey: string): Promise<CaseOutcome> {
  try {
    const run = await runCase(pipeline, c, hmacKey);
    return { name: c.name, run, failures: compareCase(pipeline, c, run) };
  } catch (err) {
    const e = toTributaryError(err, 'TRIB_E_STEP');
    return { name: c.name, failures: [`could not run: ${e.code}: ${e.message}`] };
  }
}
