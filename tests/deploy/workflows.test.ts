/**
 * The GitHub Actions workflows: each parses, passes @action-validator/core (the SchemaStore
 * workflow schema plus its own checks), and follows the project's rules (least permissions,
 * timeouts, pinned actions, npm scripts that exist). The deploy workflow's overlay update is run
 * for real on a copy of k8s/ and built with kubectl.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { validateWorkflow } from '@action-validator/core';
import { parse } from 'yaml';
import { k8sToolsDir, ROOT, tool } from './k8s-tools';
import { parseManifests, ofKind } from './manifests';

const DIR = path.join(ROOT, '.github/workflows');
const FILES = readdirSync(DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort();
const load = (f: string) => parse(readFileSync(path.join(DIR, f), 'utf8'));
const scripts = Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts);

describe('.github/workflows', () => {
  it('has CI, chart checks, image builds and the GitOps deploy', () => {
    expect(FILES).toEqual(['chart.yml', 'ci.yml', 'deploy.yml', 'images.yml']);
  });

  it.each(FILES)('%s passes the workflow validator', (f) => {
    const state = validateWorkflow(readFileSync(path.join(DIR, f), 'utf8'));
    expect(state.errors).toEqual([]);
  });

  it.each(FILES)('%s grants least permissions, bounds every job and pins every action', (f) => {
    const wf = load(f);
    expect(wf.permissions).toBeDefined();
    expect(Object.values(wf.permissions).every((p) => p === 'read' || f === 'deploy.yml')).toBe(true);
    for (const [id, job] of Object.entries<any>(wf.jobs)) {
      expect({ id, timeout: job['timeout-minutes'] }).toEqual({ id, timeout: expect.any(Number) });
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(wf.jobs)).toContain(need);
      for (const step of job.steps) {
        if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+)*|[0-9a-f]{40})$/);
        for (const m of String(step.run ?? '').matchAll(/npm run ([\w:-]+)/g)) expect(scripts).toContain(m[1]);
      }
    }
  });

  it('runs lint, typecheck and npm test with NATS and PostgreSQL from apt in CI', () => {
    const ci = load('ci.yml');
    const runs = (job: string) => ci.jobs[job].steps.map((s: any) => s.run ?? '').join('\n');
    expect(runs('lint')).toMatch(/npm run lint[\s\S]*npm run typecheck/);
    expect(runs('test')).toMatch(/apt-get install .*nats-server postgresql/);
    expect(runs('test')).toContain('npm test');
    expect(runs('slow')).toContain('npm run test:slow');
  });

  it('pushes images only on pushes (tags and main), for each service', () => {
    const build = load('images.yml').jobs.image;
    expect(build.strategy.matrix.include).toEqual([
      { service: 'ingest-api', port: 8081 },
      { service: 'transformer', port: 8082 },
      { service: 'loader', port: 8083 },
      { service: 'monitor', port: 8080 },
    ]);
    const step = build.steps.find((s: any) => String(s.uses).startsWith('docker/build-push-action'));
    expect(step.with).toMatchObject({ file: 'Dockerfile', push: "${{ github.event_name == 'push' }}" });
    expect(step.with['build-args']).toBe('SERVICE=${{ matrix.service }}\nPORT=${{ matrix.port }}\n');
  });

  it('deploys by writing the tag into the prod overlay, which still builds', () => {
    const job = load('deploy.yml').jobs['update-overlay'];
    const step = job.steps.find((s: any) => s.name === 'Set the image tags of the prod overlay');
    const work = mkdtempSync(path.join(tmpdir(), 'deploy-'));
    cpSync(path.join(ROOT, 'k8s'), path.join(work, 'k8s'), { recursive: true });
    const out = execFileSync('bash', ['-euo', 'pipefail', '-c', step.run], {
      cwd: work,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${k8sToolsDir()}:${process.env.PATH}`, TAG: 'v2.3.4', OWNER: 'acme' },
    });
    expect(out.trim().split('\n')).toHaveLength(4);
    const objs = parseManifests(tool('kubectl', ['kustomize', path.join(work, 'k8s/overlays/prod')]));
    const images = [...ofKind(objs, 'Deployment'), ...ofKind(objs, 'Job')].map((d) => d.spec.template.spec.containers[0].image);
    expect(new Set(images)).toEqual(
      new Set([
        'ghcr.io/acme/ingest-api:2.3.4',
        'ghcr.io/acme/transformer:2.3.4',
        'ghcr.io/acme/loader:2.3.4',
        'ghcr.io/acme/monitor:2.3.4',
      ]),
    );
  });
});
