/**
 * Every document the repository cites exists in it: relative links in Markdown files resolve, and
 * every `docs/...` or root-level `*.md` path named in source, tests, scripts or docs is a file of
 * the checkout. A citation of a document outside the repository (the founding brief) fails too.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root })
  .toString()
  .split('\0')
  .filter((f) => f && existsSync(join(root, f)));

const text = (f: string): string => readFileSync(join(root, f), 'utf8');
const markdown = tracked.filter((f) => f.endsWith('.md') && !f.startsWith('docs/reference/'));
const sources = tracked.filter((f) => /\.(ts|js|md|ya?ml|json|sh)$/.test(f) || f.startsWith('scripts/'));

/** `[text](target)` links that point into the checkout (no scheme, no pure anchor). */
function relativeLinks(body: string): string[] {
  const out: string[] = [];
  // Code blocks hold shell and YAML, not links.
  const prose = body.replace(/```[\s\S]*?```/g, '');
  for (const m of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    out.push(target.split('#')[0]!);
  }
  return out;
}

describe('documents the repository cites', () => {
  it('every relative Markdown link resolves to a file or folder of the checkout', () => {
    const broken: string[] = [];
    for (const f of markdown) {
      for (const target of relativeLinks(text(f))) {
        if (!existsSync(resolve(root, dirname(f), decodeURIComponent(target)))) broken.push(`${f}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every docs/*.md path named in code, tests, scripts and docs exists', () => {
    const missing = new Set<string>();
    for (const f of sources) {
      for (const m of text(f).matchAll(/\bdocs\/[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b/g)) {
        if (!existsSync(join(root, m[0]))) missing.add(`${f}: ${m[0]}`);
      }
    }
    expect([...missing]).toEqual([]);
  });

  it('nothing cites the founding brief outside the repository', () => {
    const outside = sources.filter((f) => f !== 'tests/docs/doc-links.test.ts' && /DESIGN\.md|\.\.\/shared\//.test(text(f)));
    expect(outside).toEqual([]);
  });
});
