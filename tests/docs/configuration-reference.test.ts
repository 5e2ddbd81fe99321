/**
 * docs/configuration.md is generated from the configuration schemas (see config-reference.ts):
 * this test fails when they drift apart, and when a variable has no comment to document it.
 * `npm run docs:generate` rewrites the file (it runs this test with UPDATE_DOCS=1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configSchema as cli } from '../../apps/cli/src/config';
import { configSchema as ingest } from '../../services/ingest-api/src/config';
import { configSchema as loader } from '../../services/loader/src/config';
import { configSchema as monitor } from '../../services/monitor/src/config';
import { configSchema as transformer } from '../../services/transformer/src/config';
import { renderConfigurationReference, variableComments, type ConfigSource } from './config-reference';

const FILE = path.resolve(__dirname, '../../docs/configuration.md');
const SOURCES: ConfigSource[] = [
  { name: 'ingest-api', schema: ingest },
  { name: 'transformer', schema: transformer },
  { name: 'loader', schema: loader },
  { name: 'monitor', schema: monitor },
  { name: 'CLI (migrate, backfill)', schema: cli },
];

describe('the configuration reference', () => {
  it('documents every variable a service or the CLI reads with the comment at its declaration', () => {
    const comments = variableComments();
    const undocumented = SOURCES.flatMap(({ name, schema }) =>
      Object.keys(schema.shape)
        .filter((v) => !comments.has(v))
        .map((v) => `${name}: ${v}`),
    );
    // Each of these needs a comment where it is declared (it becomes its line in docs/configuration.md).
    expect(undocumented).toEqual([]);
  });

  it('docs/configuration.md is what the schemas generate', () => {
    const generated = renderConfigurationReference(SOURCES);
    if (process.env.UPDATE_DOCS === '1') writeFileSync(FILE, generated);
    const written = readFileSync(FILE, 'utf8');
    // The hint says what to do; the comparison then shows what differs.
    if (written !== generated) process.stderr.write('docs/configuration.md is stale: run `npm run docs:generate`\n');
    expect(written).toBe(generated);
  });
});
