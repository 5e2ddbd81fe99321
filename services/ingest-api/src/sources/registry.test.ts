import { readdirSync } from 'node:fs';
import { SOURCE_SPECS } from '@tributary/contract/spec';
import { SOURCES } from './registry';

/** The shapes of the family (a source, a pull source) and the registry; every other file is a kind. */
const NOT_SOURCES = new Set(['source.ts', 'pull-source.ts', 'registry.ts']);

/** Source kinds from the files in this folder: every module except the shared ones and tests. */
function sourceFiles(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_SOURCES.has(f))
    .map((f) => f.slice(0, -'.ts'.length).replace(/-/g, '_')) // kind postgres_cdc lives in postgres-cdc.ts
    .sort();
}

describe('sources registry', () => {
  it('lists exactly the source kinds that core SOURCE_SPECS declares', () => {
    expect(Object.keys(SOURCES).sort()).toEqual(Object.keys(SOURCE_SPECS).sort());
  });

  it('lists exactly the source files in the sources folder', () => {
    expect(Object.keys(SOURCES).sort()).toEqual(sourceFiles());
  });

  it.each(Object.keys(SOURCES))('source "%s" re-exports core\'s spec object and a create factory', (name) => {
    const mod = SOURCES[name as keyof typeof SOURCES];
    expect(mod.spec).toBe(SOURCE_SPECS[name as keyof typeof SOURCE_SPECS]);
    expect(typeof mod.create).toBe('function');
  });

  it.each(Object.keys(SOURCE_SPECS))('source spec "%s" accepts its own kind literal', (name) => {
    const spec = SOURCE_SPECS[name as keyof typeof SOURCE_SPECS];
    const extra =
      (
        {
          generator: { generator: 'traffic' },
          postgres_cdc: { connection: 'db', tables: ['orders'] },
          postgres_poll: { connection: 'db', table: 'orders' },
          file: { path: 'landing' },
          object_store: { connection: 'bucket' },
          rest: { connection: 'api', request: { path: '/events.json' } },
        } as Record<string, object>
      )[name] ?? {};
    expect(spec.safeParse({ kind: name, ...extra }).success).toBe(true);
  });
});
