import { readdirSync } from 'node:fs';
import { STEP_SPECS } from '@tributary/core';
import { STEPS } from './registry';

const NOT_STEPS = new Set(['step.ts', 'registry.ts', 'cast-value.ts', 'expression.ts']);

/** Step names from the files in this folder: every module except the shared helpers and tests. */
function stepFiles(): string[] {
  return readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !NOT_STEPS.has(f))
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
