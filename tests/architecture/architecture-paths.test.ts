/**
 * Every path ARCHITECTURE.md names exists, so its package table and "where each kind of change
 * goes" cannot drift from the layout. A path from the repository root must exist as written (up
 * to its first `<placeholder>` or `*`); a shorter one (`steps/registry.ts`, `archive-codec.ts`,
 * `clickhouse/`) must be the end of some file's or folder's path.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './import-graph';

const TOP = [
  'packages/',
  'services/',
  'apps/',
  'tests/',
  'scripts/',
  'docs/',
  'charts/',
  'k8s/',
  'deploy/',
  'bench/',
  'infra/',
  'pipelines/',
  '.github/',
];
const ROOT_FILES = ['Dockerfile', 'eslint.config.js', 'package.json', 'ARCHITECTURE.md', 'CONTRIBUTING.md', 'SECURITY.md', 'README.md'];

/** The backticked tokens of the document that name a path. */
export function namedPaths(markdown: string): string[] {
  const out = new Set<string>();
  for (const m of markdown.matchAll(/`([^`\s]+)`/g)) {
    const t = m[1]!;
    if (t.startsWith('<') || t.startsWith('@') || t.includes('=')) continue;
    const rooted = TOP.some((p) => t.startsWith(p)) || ROOT_FILES.includes(t);
    const fileLike = /^[\w.*/-]+\.(ts|js|json|ya?ml|md)$/.test(t) || /^[\w-]+(\/[\w-]+)*\/$/.test(t);
    if (rooted || fileLike) out.add(t);
  }
  return [...out].sort();
}

/** The named paths that do not exist in `everything` (repository-relative; folders end in `/`). */
export function missingPaths(named: readonly string[], everything: readonly string[]): string[] {
  const has = new Set(everything);
  return named.filter((t) => {
    const upTo = t.split(/[<*]/)[0]!;
    if (TOP.some((p) => t.startsWith(p)) || ROOT_FILES.includes(t)) return !has.has(upTo) && !has.has(`${upTo.replace(/\/$/, '')}/`);
    const re = new RegExp(`(^|/)${t.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}$`);
    return !everything.some((p) => re.test(p));
  });
}

function allPaths(): string[] {
  const out: string[] = [];
  (function walk(dir: string): void {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name === '.git') continue;
      const p = path.join(dir, name);
      const rel = path.relative(ROOT, p);
      if (statSync(p).isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else out.push(rel);
    }
  })(ROOT);
  return out;
}

describe('ARCHITECTURE.md', () => {
  const doc = readFileSync(path.join(ROOT, 'ARCHITECTURE.md'), 'utf8');
  const named = namedPaths(doc);
  const everything = allPaths();

  test('names the packages it describes', () => {
    for (const p of ['packages/contract', 'packages/runtime', 'packages/warehouse', 'packages/archive', 'apps/cli', 'steps/registry.ts'])
      expect(named).toContain(p);
  });

  test('every path it names exists', () => {
    const missing = missingPaths(named, everything);
    expect(missing).toEqual([]);
  });

  test('the check sees a path that does not exist', () => {
    expect(namedPaths('see `packages/core/src/index.ts` and `nowhere/gone.ts` and `Publisher`')).toEqual([
      'nowhere/gone.ts',
      'packages/core/src/index.ts',
    ]);
    const tree = [
      'packages/',
      'packages/contract/',
      'packages/contract/src/',
      'packages/contract/src/errors.ts',
      'services/loader/src/modes/registry.ts',
    ];
    expect(
      missingPaths(
        ['packages/contract/src/errors.ts', 'packages/contract/src/', 'modes/registry.ts', 'packages/contract/src/<x>.ts'],
        tree,
      ),
    ).toEqual([]);
    expect(missingPaths(['packages/core/src/errors.ts', 'steps/registry.ts', 'packages/core/src/<x>.ts'], tree)).toEqual([
      'packages/core/src/errors.ts',
      'steps/registry.ts',
      'packages/core/src/<x>.ts',
    ]);
  });
});
