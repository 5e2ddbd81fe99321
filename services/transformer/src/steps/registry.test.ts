import { readdirSync } from 'node:fs';
import { STEP_SPECS } from '@tributary/contract/spec';
import { STEPS } from './registry';

/** The shape of a step and the registry; every other file in this folder is a step kind. */
const NOT_STEPS = new Set(['step.ts', 'registry.ts']);

/** Step names from the files in this folder (helpers live in their own rooms: state/, values/, models/; expressions in the contract package). */
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
