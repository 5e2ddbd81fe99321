import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pipelineJsonSchema, pipelineReferenceMarkdown } from './reference-docs';

const DOCS = path.resolve(__dirname, '../../../../docs');

describe('generated spec docs', () => {
  it('the committed JSON Schema matches the zod spec (run `npm run docs:generate` after changing the spec)', () => {
    const committed = JSON.parse(readFileSync(path.join(DOCS, 'pipeline-spec.schema.json'), 'utf8'));
    expect(committed).toEqual(pipelineJsonSchema());
  });

  it('the committed reference matches the zod spec (run `npm run docs:generate` after changing the spec)', () => {
    expect(readFileSync(path.join(DOCS, 'reference/pipeline-spec.md'), 'utf8')).toBe(pipelineReferenceMarkdown());
  });

  it('gives every optional field its default: a value, what unset means, or none (never blank, never "none" for one whose text names a default)', () => {
    const rows = pipelineReferenceMarkdown()
      .split('\n')
      .filter((l) => /^\| `\w+` \|/.test(l))
      .map((l) => l.split(' | '));
    expect(rows.length).toBeGreaterThan(200);
    const blank = rows.filter((c) => c[2] !== 'yes' && c[3] === '').map((c) => c[0]);
    expect(blank).toEqual([]);
    const contradicted = rows
      .filter((c) => c[3] === 'none' && /\(default |[Dd]efault[: ]|when unset|[Ww]ithout it/.test(c[4] ?? ''))
      .map((c) => c[0]);
    expect(contradicted).toEqual([]);
  });

  it('the reference documents every source kind, step and load mode', () => {
    const md = pipelineReferenceMarkdown();
    for (const name of ['push', 'generator', 'validate', 'map', 'filter', 'rename', 'cast', 'drop', 'append', 'upsert']) {
      expect(md).toContain(`### \`${name}\``);
    }
  });
});
