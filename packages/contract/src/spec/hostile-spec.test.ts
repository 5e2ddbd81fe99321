import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { TributaryError } from '../errors';
import { loadPipelineFile, parsePipelineSpec } from './load-pipeline';

function write(text: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'trib-hostile-'));
  const f = path.join(dir, 'p.yaml');
  writeFileSync(f, text);
  return f;
}

const base = (tables: string): string => `pipeline: p
sources:
  s: { kind: push }
datasets:
  d:
    from: [s]
    fields: { a: string }
tables:
${tables}
`;

describe('hostile pipeline specs', () => {
  it('refuses identifiers that try SQL injection through table, field or key names, naming the field', () => {
    for (const [bad, field] of [
      ['  "x; DROP TABLE tributary.load_ledger; --": { from: d, mode: append }', 'tables.x; DROP TABLE'],
      ['  "t\\"": { from: d, mode: append }', 'tables.t"'],
      ['  t: { from: d, mode: append, key: ["a\\" text); DROP TABLE x; --"] }', 'tables.t.key[0]'],
    ] as const) {
      const err = (() => {
        try {
          loadPipelineFile(write(base(bad)));
        } catch (e) {
          return e as TributaryError;
        }
        throw new Error('expected a spec error');
      })();
      expect(err.code).toBe('TRIB_E_SPEC');
      expect(err.message).toContain(field);
    }
  });

  it('refuses an alias bomb (billion laughs) instead of expanding it', () => {
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lol.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(',')}]`,
      );
    const r = parsePipelineSpec(`${lol.join('\n')}\npipeline: p\n`, 'bomb.yaml');
    expect(r.spec).toBeUndefined();
    expect(r.problems.length).toBeGreaterThan(0);
  });

  it('turns any text into either a spec or a list of located problems, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 400 }),
          fc.json().map((j) => `pipeline: p\nsources: ${j}\n`),
        ),
        (text) => {
          const r = parsePipelineSpec(text, 'fuzz.yaml');
          expect(r.spec !== undefined || r.problems.length > 0).toBe(true);
          for (const p of r.problems) expect(p.file).toBe('fuzz.yaml');
        },
      ),
      { numRuns: 300 },
    );
  });
});
