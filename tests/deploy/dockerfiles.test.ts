/**
 * The service Dockerfiles, read as text (building them is `npm run test:images`): one shape for
 * all four, multi-stage, production dependencies only, a non-root user, and the ports the chart
 * and the kustomize base expect.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './k8s-tools';

const SERVICES = {
  'ingest-api': ['INGEST_PORT', 8081],
  transformer: ['TRANSFORMER_PORT', 8082],
  loader: ['LOADER_PORT', 8083],
  monitor: ['MONITOR_PORT', 8080],
} as const;
const read = (s: string) => readFileSync(path.join(ROOT, 'services', s, 'Dockerfile'), 'utf8');

describe('services/*/Dockerfile', () => {
  it('are one file with the service name and port filled in', () => {
    const normalise = (s: keyof typeof SERVICES) =>
      read(s)
        // The shared build stage names all four; it must be identical, so take it out before substituting.
        .replace('-w services/ingest-api -w services/transformer -w services/loader -w services/monitor', 'ALL_WORKSPACES')
        .replace('services/ingest-api services/transformer services/loader services/monitor', 'ALL_PROJECTS')
        .replaceAll(s, 'SERVICE')
        .replaceAll(SERVICES[s][0], 'PORT_ENV')
        .replaceAll(String(SERVICES[s][1]), 'PORT');
    const shapes = new Set((Object.keys(SERVICES) as (keyof typeof SERVICES)[]).map(normalise));
    expect(shapes.size).toBe(1);
  });

  it.each(Object.keys(SERVICES))('%s builds in stages, installs production dependencies only and runs as a non-root user', (s) => {
    const text = read(s);
    expect(text.match(/^FROM /gm)).toHaveLength(3);
    expect(text).toMatch(/npm ci --ignore-scripts --omit=dev .*-w services\/[\w-]+/);
    expect(text).toMatch(/^USER 65532:65532$/m);
    expect(text).toContain(`EXPOSE ${SERVICES[s as keyof typeof SERVICES][1]}`);
    expect(text).toMatch(new RegExp(`^CMD \\["services/${s}/dist/main.js"\\]$`, 'm'));
  });

  it('keep the build context small with .dockerignore', () => {
    const ignore = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.git', 'charts', 'k8s', 'infra/*']) expect(ignore).toContain(p);
  });
});
