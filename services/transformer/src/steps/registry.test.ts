import { readdirSync } from 'node:fs';
import path from 'node:path';
import { STEP_SPECS } from '@tributary/contract';
import { STEPS } from './registry';

/**
 * Step names from the files in this folder: every module exporting a `spec` (helpers such as
 * cast-value.ts or lookup-cache.ts export none), so a step file missing from the registry fails.
 */
function stepFiles(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'registry.ts')
    .filter((f) => 'spec' in (require(path.join(__dirname, f)) as object))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

describe('steps registry', () => {
  it('lists exactly the step kinds that core STEP_SPECS declares', () => {
    expect(Object.keys(STEPS).sort()).toEqual(Object.keys(STEP_SPECS).sort());
  });

  it('lists exactly the step files in the steps folder', () => {
    expect(Object.keys(STEPS).sort()).toEqual(stepFiles());
  });

  it.each(Object.keys(STEPS))('step "%s" re-exports core\'s spec object and a create factory', (name) => {
    const mod = STEPS[name as keyof typeof STEPS];
    expect(mod.spec).toBe(STEP_SPECS[name as keyof typeof STEP_SPECS]);
    expect(typeof mod.create).toBe('function');
  });
});
