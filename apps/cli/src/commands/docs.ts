/** `tributary docs [dir]`: writes the JSON Schema and the reference of the pipeline spec. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from '../command';
import { pipelineJsonSchema, pipelineReferenceMarkdown } from '../docs/reference-docs';

/** Writes generated docs into `dir`; returns the files written. */
export function writeDocs(dir: string): string[] {
  mkdirSync(path.join(dir, 'reference'), { recursive: true });
  const files = [path.join(dir, 'pipeline-spec.schema.json'), path.join(dir, 'reference', 'pipeline-spec.md')];
  writeFileSync(files[0]!, `${JSON.stringify(pipelineJsonSchema(), null, 2)}\n`);
  writeFileSync(files[1]!, pipelineReferenceMarkdown());
  return files;
}

/** The `docs` command. */
export const docsCommand: Command = {
  name: 'docs',
  args: '[dir]',
  summary: 'write the JSON Schema and reference of the pipeline spec (default: ./docs)',
  async run([dir], { out }) {
    for (const f of writeDocs(dir ?? 'docs')) out(`wrote ${f}`);
    return 0;
  },
};
