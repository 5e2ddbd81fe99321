/**
 * Pipeline unit tests (`tributary test`): YAML files in a `tests/` folder beside the pipelines,
 * each naming a pipeline and its cases. A case gives input records per source and expects rows
 * per table, dead letters (by input index, stage, code, field) and filtered counts. This file is
 * the format and its parser (problems named by file, line and field); the transformer runs the
 * cases (services/transformer/src/pipeline-tests/) and `tributary test` reports them.
 *
 *   pipeline: traffic
 *   cases:
 *     - name: converts mph and drops stationary readings
 *       given:
 *         gantry:
 *           - { event_id: e1, gantry_id: G1, speed_mph: 30, observed_at: '2026-01-01T00:00:00Z' }
 *       expect:
 *         tables:
 *           fact_passage: [{ event_id: e1, speed_kmh: 48.3 }]
 *         dead_letters: []
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { fieldPath, locate } from './load-pipeline';
import { readYaml, type SpecProblem } from './read-yaml';

const record = z.record(z.string(), z.unknown());

/** One dead letter a case expects: which input record (by source and index) and why. */
export const expectedDeadLetterSpec = z.strictObject({
  /** The source whose `given` list holds the record (default: the case's only source). */
  source: z.string().optional(),
  /** Position of the record in that source's `given` list, from 0. */
  index: z.number().int().min(0),
  /** `ingest` (the source schema refused it) or `transform` (a step or the projection did). */
  stage: z.enum(['ingest', 'transform']).optional(),
  /** The dataset that refused it (transform stage). */
  dataset: z.string().optional(),
  /** Error code, e.g. `TRIB_E_VALIDATION`. */
  code: z.string().optional(),
  /** The field named by the error. */
  field: z.string().optional(),
  /** A substring of the error message. */
  message_contains: z.string().optional(),
});

/** One case: input records per source, and what must come out. */
export const pipelineTestCaseSpec = z.strictObject({
  name: z.string().min(1),
  /** Input records per source (or dataset), in order; each source's records run as one batch. */
  given: z.record(z.string(), z.array(z.unknown())).refine((g) => Object.keys(g).length > 0, 'give records for at least one source'),
  expect: z.strictObject({
    /**
     * Rows per table, in order. Each expected row lists the fields to check (others are not
     * compared); the number of rows must match. `append` tables get every row; `upsert` tables the
     * last row per key; other modes the rows the loader would be given (see docs/transforms.md).
     */
    tables: z.record(z.string(), z.array(record)).optional(),
    /** Every dead letter of the case, in any order; none when empty. Absent: not checked. */
    dead_letters: z.array(expectedDeadLetterSpec).optional(),
    /** Records dropped on purpose, per dataset. */
    filtered: z.record(z.string(), z.number().int().min(0)).optional(),
  }),
});

/** A test file. */
export const pipelineTestFileSpec = z.strictObject({
  /** The pipeline under test (its `pipeline:` name). */
  pipeline: z.string().min(1),
  cases: z.array(pipelineTestCaseSpec).min(1),
});

export type ExpectedDeadLetter = z.output<typeof expectedDeadLetterSpec>;
export type PipelineTestCase = z.output<typeof pipelineTestCaseSpec> & { line?: number };
export type PipelineTestFile = Omit<z.output<typeof pipelineTestFileSpec>, 'cases'> & { file: string; cases: PipelineTestCase[] };

/** Parses one test file; returns it or the problems, each with its line. */
export function parsePipelineTestFile(text: string, file: string): { tests?: PipelineTestFile; problems: SpecProblem[] } {
  const read = readYaml(text, file);
  if ('problems' in read) return { problems: read.problems };
  const { doc, lc, root } = read;
  const r = pipelineTestFileSpec.safeParse(root);
  if (!r.success) {
    return {
      problems: r.error.issues.map((i) => {
        const p = i.path as PropertyKey[];
        const key = i.code === 'unrecognized_keys' ? i.keys[0] : undefined;
        const at = key === undefined ? p : [...p, key];
        return { file, ...locate(doc, lc, at, key), field: fieldPath(at), message: key ? `unknown field "${key}"` : i.message };
      }),
    };
  }
  const cases = r.data.cases.map((c, i) => ({
    ...c,
    ...(locate(doc, lc, ['cases', i]) ? { line: locate(doc, lc, ['cases', i])!.line } : {}),
  }));
  return { tests: { ...r.data, file, cases }, problems: [] };
}

/**
 * The test files for a pipelines location: `<folder>/tests/*.yaml` beside a pipelines folder (or
 * beside a single pipeline file), or the files given.
 */
export function listPipelineTestFiles(location: string): string[] {
  const abs = path.resolve(location);
  if (existsSync(abs) && statSync(abs).isFile()) {
    // A test file itself, or a pipeline file whose folder has tests.
    if (path.basename(path.dirname(abs)) === 'tests') return [abs];
    return listPipelineTestFiles(path.dirname(abs));
  }
  const dir = path.basename(abs) === 'tests' ? abs : path.join(abs, 'tests');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Reads and parses test files; every problem in every file is returned together. */
export function loadPipelineTestFiles(files: readonly string[]): { tests: PipelineTestFile[]; problems: SpecProblem[] } {
  const tests: PipelineTestFile[] = [];
  const problems: SpecProblem[] = [];
  for (const f of files) {
    const r = parsePipelineTestFile(readFileSync(f, 'utf8'), f);
    if (r.tests) tests.push(r.tests);
    problems.push(...r.problems);
  }
  return { tests, problems };
}
