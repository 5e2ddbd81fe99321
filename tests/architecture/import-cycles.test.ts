/**
 * No import cycle between files or folders (ARCHITECTURE.md, layering): a cycle makes load order
 * matter and lets two rooms grow into one. Checked over every package, app and service, across
 * package boundaries: no file imports itself through others, and at every folder no two of its
 * entries (files, or sub-folders with everything below them) import each other, directly or
 * round a loop. Type-only imports count: a cycle of types still ties two rooms together.
 */
import path from 'node:path';
import { folderGraphs, importCycles, importGraph, ROOT, sourceFiles } from './import-graph';

describe('import graph', () => {
  const graph = importGraph();

  test('covers every package, app and service', () => {
    const tops = new Set([...graph.keys()].map((f) => path.relative(ROOT, f).split(path.sep).slice(0, 2).join('/')));
    for (const p of ['packages/contract', 'packages/runtime', 'packages/warehouse', 'packages/archive', 'apps/cli', 'services/loader'])
      expect(tops).toContain(p);
    // Resolution works: the loader reaches the contract through `@tributary/contract`.
    const loaderImports = [...graph].filter(([f]) => f.includes('/services/loader/src/')).flatMap(([, t]) => t);
    expect(loaderImports.some((t) => t.startsWith(path.join(ROOT, 'packages/contract/src/')))).toBe(true);
    expect(graph.size).toBe(sourceFiles().length);
  });

  test('has no cycle between files', () => {
    expect(importCycles(graph).map((c) => c.map((f) => path.relative(ROOT, f)))).toEqual([]);
  });

  test('has no cycle between folders', () => {
    const cycles: string[] = [];
    for (const [dir, level] of folderGraphs(graph)) for (const c of importCycles(level)) cycles.push(`${dir}: ${c.join(' ')}`);
    expect(cycles).toEqual([]);
  });

  test('the cycle finder finds a cycle', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a', 'd']],
      ['d', []],
      ['e', ['e']],
    ]);
    expect(importCycles(g)).toEqual([['a', 'b', 'c'], ['e']]);
  });

  test('the folder view finds a cycle between two folders', () => {
    const f = (p: string) => path.join(ROOT, p);
    const g = new Map([
      [f('s/src/a/one.ts'), [f('s/src/b/two.ts')]],
      [f('s/src/b/two.ts'), []],
      [f('s/src/b/three.ts'), [f('s/src/a/four.ts')]],
      [f('s/src/a/four.ts'), []],
      [f('s/src/app.ts'), [f('s/src/a/one.ts')]],
    ]);
    const levels = folderGraphs(g);
    expect(importCycles(levels.get('s/src')!)).toEqual([['a', 'b']]);
  });
});
