/**
 * `transformer --test [location] [--pipeline NAME]` (what `tributary test` runs): finds the test
 * files for a pipelines location (`<pipelines>/tests/*.yaml`, or test files named directly), runs
 * every case with run-case.ts and prints one line per case, the differences under each failing
 * one. Exit code 0 when every case passed, 1 when one failed, 2 when a test file or pipeline
 * cannot be loaded or no test was found (the CLI's exit codes).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblems, listPipelineTestFiles, loadPipelines, loadPipelineTestFiles, type Pipeline } from '@tributary/contract/spec';
import { toTributaryError } from '@tributary/contract/errors';
import { testCase } from './run-case';

/**
 * The HMAC key pipeline tests run with, whatever the environment says, so a `$hmac(...)` value a
 * test expects is the same on every machine (and never the production key).
 */
export const PIPELINE_TEST_HMAC_KEY = 'tributary-pipeline-tests-key';

const USAGE = 'usage: tributary test [pipelines folder | pipeline file | test file ...] [--pipeline NAME]';

/** Runs the tests; returns the exit code. `defaultLocation`: $TRIBUTARY_PIPELINES or ./pipelines. */
export async function runPipelineTests(args: string[], out: (line: string) => void, defaultLocation = 'pipelines'): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { pipeline: { type: 'string' } } });
  } catch (err) {
    out(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  const locations = parsed.positionals.length > 0 ? parsed.positionals : [defaultLocation];
  const files = [...new Set(locations.flatMap((l) => listPipelineTestFiles(l)))];
  if (files.length === 0) {
    out(`no pipeline tests found at ${locations.join(', ')} (they live in a tests/ folder beside the pipelines; see docs/transforms.md)`);
    return 2;
  }
  const { tests, problems } = loadPipelineTestFiles(files);
  if (problems.length > 0) {
    out(formatProblems(problems));
    return 2;
  }
  // The pipelines are those of the folder each test file sits beside.
  const byFolder = new Map<string, Pipeline[]>();
  const pipelinesFor = (testFile: string): Pipeline[] => {
    const folder = path.dirname(path.dirname(testFile));
    if (!byFolder.has(folder)) byFolder.set(folder, loadPipelines(folder));
    return byFolder.get(folder)!;
  };
  let cases = 0;
  let failed = 0;
  for (const t of tests) {
    if (parsed.values.pipeline && t.pipeline !== parsed.values.pipeline) continue;
    let pipeline: Pipeline | undefined;
    try {
      pipeline = pipelinesFor(t.file).find((p) => p.name === t.pipeline);
    } catch (err) {
      out(`${t.file}: ${toTributaryError(err).message}`);
      return 2;
    }
    if (!pipeline) {
      out(`${t.file}: no pipeline named "${t.pipeline}" in ${path.dirname(path.dirname(t.file))}`);
      return 2;
    }
    out(`${path.relative(process.cwd(), t.file)}: pipeline ${pipeline.name}`);
    for (const c of t.cases) {
      cases++;
      const outcome = await testCase(pipeline, c, PIPELINE_TEST_HMAC_KEY);
      if (outcome.failures.length === 0) {
        const rows = Object.values(outcome.run?.tables ?? {}).reduce((n, r) => n + r.length, 0);
        out(`  ok    ${c.name} (${rows} rows, ${outcome.run?.deadLetters.length ?? 0} dead letters)`);
      } else {
        failed++;
        out(`  FAIL  ${c.name} (${path.relative(process.cwd(), t.file)}${c.line ? `:${c.line}` : ''})`);
        for (const f of outcome.failures) out(`        ${f}`);
      }
    }
  }
  if (cases === 0) {
    out(`no test cases for pipeline ${parsed.values.pipeline}`);
    return 2;
  }
  out(`${cases} cases, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}
