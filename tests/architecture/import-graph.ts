/**
 * The import graph of the repository's non-test source files (packages, apps, services), resolved
 * by the TypeScript compiler with the root tsconfig (so `@tributary/*` imports point at the
 * package's `src/index.ts`, exactly as the type check sees them). Used by the architecture tests;
 * a library (dpdm, madge) would bring a second TypeScript and ESM-only dependencies jest cannot load.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');

const SOURCE_ROOTS = ['packages', 'apps', 'services'];

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name === 'static') continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(name) && !/\.(test|d)\.tsx?$/.test(name)) out.push(p);
  }
}

/** Non-test source files under `<package>/src` (and the monitor's `web/src`). */
export function sourceFiles(): string[] {
  const out: string[] = [];
  for (const top of SOURCE_ROOTS) {
    for (const pkg of readdirSync(path.join(ROOT, top))) {
      for (const sub of ['src', 'web/src']) {
        const dir = path.join(ROOT, top, pkg, sub);
        try {
          if (statSync(dir).isDirectory()) walk(dir, out);
        } catch {
          // no such folder in this package
        }
      }
    }
  }
  return out.sort();
}

function compilerOptions(): ts.CompilerOptions {
  const file = path.join(ROOT, 'tsconfig.json');
  const cfg = ts.readConfigFile(file, ts.sys.readFile);
  return ts.parseJsonConfigFileContent(cfg.config, ts.sys, ROOT).options;
}

/** Every file's imports (static, dynamic and `export ... from`) that resolve to another source file. */
export function importGraph(files: readonly string[] = sourceFiles()): Map<string, string[]> {
  const options = compilerOptions();
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = new Set<string>();
    for (const ref of info.importedFiles) {
      const r = ts.resolveModuleName(ref.fileName, file, options, ts.sys).resolvedModule;
      if (r && known.has(path.resolve(r.resolvedFileName))) targets.add(path.resolve(r.resolvedFileName));
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Strongly connected groups of more than one file (or a file importing itself): the import cycles. */
export function importCycles(graph: Map<string, string[]>): string[][] {
  // Tarjan's algorithm, iterative so deep graphs do not overflow the stack.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work: [string, number][] = [[start, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const [v, i] = frame;
      if (i === 0) {
        idx.set(v, index);
        low.set(v, index);
        index++;
        stack.push(v);
        onStack.add(v);
      }
      const next = graph.get(v) ?? [];
      if (i < next.length) {
        frame[1]++;
        const w = next[i]!;
        if (!idx.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]![0];
        low.set(parent, Math.min(low.get(parent)!, low.get(v)!));
      }
      if (low.get(v) === idx.get(v)) {
        const group: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          group.push(w);
        } while (w !== v);
        if (group.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(group.sort());
      }
    }
  }
  return out;
}

/**
 * The folder view of the import graph: at every folder, its entries (files, and sub-folders
 * standing for everything below them) with an edge where a file of one imports a file of another.
 * Keyed by folder (relative to the root); a cycle among one folder's entries is a folder cycle.
 */
export function folderGraphs(graph: Map<string, string[]>): Map<string, Map<string, string[]>> {
  const levels = new Map<string, Map<string, Set<string>>>();
  for (const [from, targets] of graph) {
    for (const to of targets) {
      const a = path.relative(ROOT, from).split(path.sep);
      const b = path.relative(ROOT, to).split(path.sep);
      let i = 0;
      while (i < a.length - 1 && i < b.length - 1 && a[i] === b[i]) i++;
      if (a[i] === b[i]) continue;
      const dir = a.slice(0, i).join('/');
      const level = levels.get(dir) ?? new Map<string, Set<string>>();
      levels.set(dir, level);
      for (const n of [a[i]!, b[i]!]) if (!level.has(n)) level.set(n, new Set());
      level.get(a[i]!)!.add(b[i]!);
    }
  }
  return new Map([...levels].map(([dir, level]) => [dir, new Map([...level].map(([n, t]) => [n, [...t].sort()]))]));
}
