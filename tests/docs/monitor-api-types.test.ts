/**
 * The dashboard reads the monitor's API by the contract's own types: `web/src/api-types.ts` is a
 * generated copy of `packages/contract/src/monitor-api.ts` (the browser build cannot import from
 * the packages' source trees). This test fails when the copy drifts; `npm run docs:generate` (which
 * runs the docs tests with UPDATE_DOCS=1) rewrites it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const MONITOR = path.resolve(__dirname, '../../services/monitor');
const SOURCE = path.resolve(__dirname, '../../packages/contract/src/monitor-api.ts');
const COPY = path.join(MONITOR, 'web/src/api-types.ts');

/** The copy: a header naming its source, then the source verbatim. */
function renderApiTypesCopy(): string {
  return (
    '// Generated from packages/contract/src/monitor-api.ts by `npm run docs:generate`: edit that file, not this one.\n' +
    readFileSync(SOURCE, 'utf8')
  );
}

describe("the dashboard's copy of the monitor API types", () => {
  it('the source imports nothing (the browser build compiles it alone)', () => {
    expect(readFileSync(SOURCE, 'utf8')).not.toMatch(/^\s*(import|export .* from)\b/m);
  });

  it('web/src/api-types.ts is the generated copy', () => {
    const generated = renderApiTypesCopy();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(COPY, generated);
    const written = readFileSync(COPY, 'utf8');
    if (written !== generated) process.stderr.write('services/monitor/web/src/api-types.ts is stale: run `npm run docs:generate`\n');
    expect(written).toBe(generated);
  });
});
