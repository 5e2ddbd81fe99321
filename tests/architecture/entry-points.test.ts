/**
 * Each file imports what it uses through a package's entry points (ARCHITECTURE.md, layering):
 * `@tributary/contract/spec`, `@tributary/runtime/nats`, ..., never the root of `contract`,
 * `runtime` or `warehouse`, so anyone can see which part of a package a service uses.
 * `node scripts/entry-imports.js` rewrites such imports; every entry a package's `exports` opens
 * resolves to a source file, for the build, the type check and jest alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { ROOT, sourceFiles } from './import-graph';

const SPLIT = ['contract', 'runtime', 'warehouse'];
const ROOTS = new Set(SPLIT.map((p) => `@tributary/${p}`));

function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function walk(dir: string, out: string[]): string[] {
  for (const e of require('node:fs').readdirSync(dir, { withFileTypes: true })) {
    if (['node_modules', 'dist', 'static', 'results'].includes(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

describe('entry points', () => {
  test('contract, runtime and warehouse have no root entry, and no file imports one', () => {
    for (const pkg of SPLIT) {
      const manifest = JSON.parse(readFileSync(path.join(ROOT, 'packages', pkg, 'package.json'), 'utf8'));
      expect([pkg, manifest.main, manifest.types, Object.keys(manifest.exports).includes('.')]).toEqual([pkg, undefined, undefined, false]);
      expect([pkg, existsSync(path.join(ROOT, 'packages', pkg, 'src', 'index.ts'))]).toEqual([pkg, false]);
    }
    const files = [...sourceFiles(), ...['tests', 'tools', 'bench', 'infra'].flatMap((d) => walk(path.join(ROOT, d), []))];
    const offenders = files.flatMap((f) =>
      importsOf(f)
        .filter((i) => ROOTS.has(i))
        .map((i) => `${path.relative(ROOT, f)} imports ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  test('every entry resolves: package exports, the type check and jest agree', () => {
    const tsPaths = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.json'), 'utf8')).compilerOptions.paths as Record<string, string[]>;
    for (const pkg of SPLIT) {
      const exportsMap = JSON.parse(readFileSync(path.join(ROOT, 'packages', pkg, 'package.json'), 'utf8')).exports as Record<
        string,
        string | { types: string; default: string }
      >;
      const subs = Object.keys(exportsMap).filter((k) => k !== '.' && k !== './package.json');
      expect(subs.length).toBeGreaterThan(1);
      for (const sub of subs) {
        const name = `@tributary/${pkg}${sub.slice(1)}`;
        const target = exportsMap[sub] as { types: string; default: string };
        const src = path.join('packages', pkg, target.default.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));
        expect(existsSync(path.join(ROOT, src))).toBe(true);
        expect(target.types).toBe(target.default.replace(/\.js$/, '.d.ts'));
        expect([name, tsPaths[name]]).toEqual([name, [src]]);
        expect(require.resolve(name)).toBe(path.join(ROOT, src));
      }
      // Nothing reaches a file no entry opens: `tsconfig.json` names exactly the package's entries.
      const named = Object.keys(tsPaths).filter((k) => k.startsWith(`@tributary/${pkg}/`));
      expect(named.sort()).toEqual(subs.map((s) => `@tributary/${pkg}${s.slice(1)}`).sort());
    }
  });
});
