/**
 * The Dockerfile, read as text (building it is `npm run test:images`): one file for the four
 * services (the SERVICE build argument), multi-stage, production dependencies only, a non-root
 * user, a bounded heap, and the build stage independent of SERVICE so the images share it.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './k8s-tools';

const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
/** The stages, by the name after `AS` (the last one is unnamed: the runtime image). */
const stages = text.split(/^FROM /m).slice(1);

describe('Dockerfile', () => {
  it('is the only Dockerfile: no per-service copies to drift apart', () => {
    for (const s of ['ingest-api', 'transformer', 'loader', 'monitor'])
      expect(existsSync(path.join(ROOT, 'services', s, 'Dockerfile'))).toBe(false);
  });

  it('builds in three stages, the shared build stage not depending on SERVICE', () => {
    expect(stages).toHaveLength(3);
    expect(stages[0]).toMatch(/^\$\{BUILD_IMAGE\} AS build$/m);
    expect(stages[0]).not.toContain('SERVICE');
    expect(stages[0]).toContain('-w services/ingest-api -w services/transformer -w services/loader -w services/monitor');
  });

  it('installs the production dependencies of the chosen service only, and refuses an unknown one', () => {
    expect(stages[1]).toMatch(/^ARG SERVICE$/m);
    expect(stages[1]).toContain('ws="-w services/$SERVICE"');
    // The loader image also carries the CLI (migrate, and the services' wait-for-migrate init container).
    expect(stages[1]).toContain('if [ "$SERVICE" = loader ]; then ws="$ws -w apps/cli"; apps=apps/cli; fi');
    expect(stages[1]).toContain('npm ci --ignore-scripts --omit=dev --loglevel=error $ws');
    expect(stages[1]).toMatch(/case "\$\{SERVICE:-\}" in ingest-api \| transformer \| loader \| monitor\)/);
  });

  it('puts the `tributary` CLI (migrate, backfill) in the loader image only, with the packages every service links', () => {
    expect(stages[0]).toContain('-w apps/cli');
    expect(stages[1]).toContain('if [ "$SERVICE" = loader ]; then ws="$ws -w apps/cli"; apps=apps/cli; fi');
    expect(stages[1]).toContain(
      'for d in . packages/contract packages/runtime packages/warehouse packages/archive $apps "services/$SERVICE"; do',
    );
  });

  it("keeps only this platform's onnxruntime binaries (the transformer's model step)", () => {
    expect(stages[1]).toContain('for d in node_modules/onnxruntime-node/bin/napi-v*/*/*; do');
    expect(stages[1]).toContain(`*/"$(node -p 'process.platform + "/" + process.arch')") ;; *) rm -rf "$d" ;;`);
  });

  it('runs the service as a non-root user through main.js, with a bounded heap', () => {
    const runtime = stages[2]!;
    expect(runtime).toMatch(/^USER 65532:65532$/m);
    expect(runtime).toMatch(/^EXPOSE \$\{PORT\}$/m);
    expect(runtime).toMatch(/^CMD \["main.js"\]$/m);
    expect(stages[1]).toContain(`echo "require('./services/$SERVICE/dist/main.js');" > /out/main.js`);
    expect(runtime).toMatch(/NODE_OPTIONS=--max-old-space-size=\d+/);
  });

  it('keeps the build context small with .dockerignore', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', 'charts', 'k8s', 'infra/*']) expect(ignore).toContain(p);
  });
});
