/**
 * Rooms stay small enough to read: a non-test source file over 300 lines says why at its top (a
 * line in its first comment starting "Longer than 300 lines because"), so a long file is a
 * decision someone wrote down, not an accident. Generated copies count as their source.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT, sourceFiles } from './import-graph';

const LIMIT = 300;
const REASON = /^\s*\*\s*Longer than 300 lines because \S/m;

/** Non-test TypeScript under `dir` (bench and tools are not packages, so import-graph does not list them). */
function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name)) out.push(p);
  }
  return out;
}

describe('file length', () => {
  it(`every non-test source file over ${LIMIT} lines says why in its first comment`, () => {
    const files = [...sourceFiles(), ...walk(path.join(ROOT, 'bench/src')), ...walk(path.join(ROOT, 'tools/ml/src'))];
    const unexplained = files
      .map((f) => ({ f, text: readFileSync(f, 'utf8') }))
      .filter(({ text }) => text.split('\n').length > LIMIT)
      .filter(({ text }) => {
        const header = /^\s*\/\*\*([\s\S]*?)\*\//.exec(text)?.[1] ?? '';
        return !REASON.test(header) && !text.startsWith('// Generated from');
      })
      .map(({ f, text }) => `${path.relative(ROOT, f)} (${text.split('\n').length} lines)`);
    expect(unexplained).toEqual([]);
  });
});
