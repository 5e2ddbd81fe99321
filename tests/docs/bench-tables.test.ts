/**
 * README.md and docs/PERFORMANCE.md quote the bench from one file, `bench/results/latest.json`:
 * this test fails when either document's generated block differs from what bench/src/doc-tables.ts
 * makes of it. `npm run bench:docs` (this test with UPDATE_DOCS=1) first copies a run's results
 * into latest.json (`BENCH_RESULTS=<file>`, else the newest `bench/results/<date>.json`), then
 * rewrites both blocks.
 */
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { diff } from 'jest-diff';
import { performanceBlock, readmeBlock, type BenchResults } from '../../bench/src/doc-tables';
import { formatAs, ROOT, withBlock } from './generated-blocks';

const LATEST = 'bench/results/latest.json';
const COMMAND = 'npm run bench:docs';
const END = '<!-- end of bench table -->';
const BLOCKS: { file: string; make: (r: BenchResults) => string }[] = [
  { file: 'README.md', make: readmeBlock },
  { file: 'docs/PERFORMANCE.md', make: performanceBlock },
];
const start = `<!-- bench table: generated from ${LATEST} by \`${COMMAND}\` -->`;

/** The run `npm run bench:docs` quotes: BENCH_RESULTS, else the newest dated results file. */
function chosenRun(): string {
  if (process.env.BENCH_RESULTS) return path.resolve(process.env.BENCH_RESULTS);
  const dir = path.join(ROOT, 'bench/results');
  const runs = readdirSync(dir)
    .filter((f) => /^\d{4}-\d\d-\d\dT[\d-]+\.json$/.test(f))
    .sort();
  if (runs.length === 0) throw new Error('no bench/results/<date>.json: run `npm run bench` first');
  return path.join(dir, runs.at(-1)!);
}

describe('the bench figures in README.md and docs/PERFORMANCE.md', () => {
  it(`are what ${LATEST} gives`, () => {
    if (process.env.UPDATE_DOCS === '1') copyFileSync(chosenRun(), path.join(ROOT, LATEST));
    const results = JSON.parse(readFileSync(path.join(ROOT, LATEST), 'utf8')) as BenchResults;
    const stale: string[] = [];
    for (const { file, make } of BLOCKS) {
      const now = readFileSync(path.join(ROOT, file), 'utf8');
      const wanted = formatAs(file, withBlock(now, file, start, END, make(results)));
      if (process.env.UPDATE_DOCS === '1') writeFileSync(path.join(ROOT, file), wanted);
      else if (wanted !== now)
        stale.push(`${file}:\n${diff(wanted, now, { aAnnotation: 'generated', bAnnotation: 'in the repository', expand: false })}`);
    }
    if (stale.length) throw new Error(`stale bench tables: run \`${COMMAND}\`\n\n${stale.join('\n\n')}`);
    expect(stale).toEqual([]);
  });

  it('quote every scenario the run measured, each ratio against its own baseline', () => {
    const results = JSON.parse(readFileSync(path.join(ROOT, LATEST), 'utf8')) as BenchResults;
    const readme = readmeBlock(results);
    const pushRatio = (results.tributaryPush.perSecond / results.rawCopy.perSecond).toFixed(2);
    expect(readme).toContain(`**${pushRatio}**`);
    for (const [key, s] of Object.entries(results.sources)) {
      if (key === 'file' || key.startsWith('cdc')) expect(readme).toContain((s.perSecond / s.baseline.perSecond).toFixed(2));
    }
    const perf = performanceBlock(results);
    expect(perf).toContain(results.table);
  });
});
