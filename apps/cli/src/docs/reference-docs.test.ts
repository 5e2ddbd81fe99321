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

  it('the reference documents every source kind, step and load mode', () => {
    const md = pipelineReferenceMarkdown();
    for (const name of ['push', 'generator', 'validate', 'map', 'filter', 'rename', 'cast', 'drop', 'append', 'upsert']) {
      expect(md).toContain(`### \`${name}\``);
    }
  });
});
