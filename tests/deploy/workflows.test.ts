/**
 * The GitHub Actions workflows: each parses, passes @action-validator/core (the SchemaStore
 * workflow schema plus its own checks), and follows the project's rules (least permissions,
 * timeouts, every action pinned by full commit SHA with its version in a comment, no `${{ }}`
 * inside scripts, npm scripts that exist). The release path is checked as a contract: deploy.yml
 * promotes only a signed `v*` tag of the main repository, validates the tag before any use (the
 * validation step is run here on good and hostile tags), and writes image digests recorded by
 * images.yml into the prod overlay (run for real on a copy of k8s/ and built with kubectl).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
const SERVICES = ['ingest-api', 'transformer', 'loader', 'monitor'];
/** Runs a step's script with bash as the runner does (`bash -e -o pipefail`); status, output and what it wrote to GITHUB_OUTPUT. */
function runStep(run: string, env: Record<string, string>, cwd: string) {
  const output = path.join(cwd, 'github-output');
  writeFileSync(output, '');
  try {
    const stdout = execFileSync('bash', ['-euo', 'pipefail', '-c', run], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PATH: `${k8sToolsDir()}:${process.env.PATH}`, GITHUB_OUTPUT: output, ...env },
    });
    return { status: 0, stdout, outputs: readFileSync(output, 'utf8') };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { status: e.status, stdout: `${e.stdout}${e.stderr}`, outputs: readFileSync(output, 'utf8') };
  }
}
const scripts = Object.keys(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts);

describe('.github/workflows', () => {
  it('has CI, chart checks, image builds and the GitOps deploy', () => {
    expect(FILES).toEqual(['chart.yml', 'ci.yml', 'deploy.yml', 'images.yml']);
  });

  it.each(FILES)('%s passes the workflow validator', (f) => {
    const state = validateWorkflow(readFileSync(path.join(DIR, f), 'utf8'));
    expect(state.errors).toEqual([]);
  });

  it.each(FILES)('%s grants least permissions, bounds every job and pins every action by commit SHA', (f) => {
    const wf = load(f);
    const text = readFileSync(path.join(DIR, f), 'utf8');
    expect(wf.permissions).toBeDefined();
    expect(Object.values(wf.permissions).every((p) => p === 'read')).toBe(true);
    for (const [id, job] of Object.entries<any>(wf.jobs)) {
      expect({ id, timeout: job['timeout-minutes'] }).toEqual({ id, timeout: expect.any(Number) });
      for (const need of [job.needs ?? []].flat()) expect(Object.keys(wf.jobs)).toContain(need);
      for (const step of job.steps) {
        // A tag or branch can be moved to other code; a full commit SHA cannot.
        if (step.uses) expect(step.uses).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        // Expressions reach scripts through env only, never spliced into the shell text.
        expect({ step: step.name ?? step.run, expression: /\$\{\{/.test(String(step.run ?? '')) }).toMatchObject({ expression: false });
        for (const m of String(step.run ?? '').matchAll(/npm run ([\w:-]+)/g)) expect(scripts).toContain(m[1]);
      }
    }
    // Each pin says which release it is, for people and for update tools.
    for (const line of text.split('\n').filter((l) => /^\s*(- )?uses:/.test(l))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
  });

  it('pins each action to one commit across the workflows', () => {
    const pins = new Map<string, Set<string>>();
    for (const f of FILES)
      for (const job of Object.values<any>(load(f).jobs))
        for (const step of job.steps.filter((s: any) => s.uses)) {
          const [action, sha] = String(step.uses).split('@') as [string, string];
          pins.set(action, (pins.get(action) ?? new Set()).add(sha));
        }
    expect([...pins].filter(([, shas]) => shas.size > 1)).toEqual([]);
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

  it('records the digest of every pushed image as an artifact for the promotion', () => {
    const steps = load('images.yml').jobs.image.steps;
    const build = steps.find((s: any) => String(s.uses).startsWith('docker/build-push-action'));
    expect(build.id).toBe('build');
    const record = steps.find((s: any) => s.name === 'Record the digest');
    expect(record).toMatchObject({ if: "github.event_name == 'push'", env: { DIGEST: '${{ steps.build.outputs.digest }}' } });
    const upload = steps.find((s: any) => String(s.uses).startsWith('actions/upload-artifact'));
    expect(upload).toMatchObject({
      if: "github.event_name == 'push'",
      with: { name: 'digest-${{ matrix.service }}', 'if-no-files-found': 'error' },
    });
    const work = mkdtempSync(path.join(tmpdir(), 'digest-'));
    const digest = `sha256:${'0f'.repeat(32)}`;
    const summary = path.join(work, 'summary');
    const env = { IMAGE: 'ghcr.io/Acme/loader', SERVICE: 'loader', GITHUB_STEP_SUMMARY: summary };
    expect(runStep(record.run, { ...env, DIGEST: digest }, work).status).toBe(0);
    expect(readFileSync(path.join(work, 'digests/loader'), 'utf8')).toBe(`${digest}\n`);
    expect(readFileSync(summary, 'utf8')).toContain(`ghcr.io/acme/loader@${digest}`);
    expect(runStep(record.run, { ...env, DIGEST: '' }, work).status).not.toBe(0);
  });

  describe('deploy.yml', () => {
    const wf = load('deploy.yml');
    const job = wf.jobs['update-overlay'];
    const step = (name: string) => job.steps.find((s: any) => s.name === name);

    it('runs only on the main repository, for a successful tag push of images.yml or by hand', () => {
      expect(Object.keys(wf.on).sort()).toEqual(['workflow_dispatch', 'workflow_run']);
      expect(wf.on.workflow_run).toEqual({ workflows: ['images'], types: ['completed'] });
      const cond = String(job.if).replace(/\s+/g, ' ');
      expect(cond).toMatch(/^github\.repository == 'tributary\/tributary' && /);
      // A fork's or a pull request's run of images.yml never promotes, whatever its branch is called.
      expect(cond).toContain("github.event.workflow_run.event == 'push'");
      expect(cond).toContain('github.event.workflow_run.head_repository.full_name == github.repository');
      expect(cond).toContain("github.event.workflow_run.conclusion == 'success'");
      expect(job.permissions).toEqual({ contents: 'write', actions: 'read' });
      expect(job.environment).toBe('production');
    });

    it('validates the tag with a strict semver pattern before any other step, and nothing else reads the raw input', () => {
      const validate = job.steps[0];
      expect(validate).toMatchObject({ name: 'Validate the tag', id: 'tag' });
      expect(validate.env.TAG).toContain('inputs.tag');
      expect(validate.env.TAG).toContain('github.event.workflow_run.head_branch');
      const others = JSON.stringify(job.steps.slice(1));
      expect(others).not.toMatch(/inputs\.tag|head_branch/);
      const work = mkdtempSync(path.join(tmpdir(), 'tag-'));
      for (const [tag, version] of [
        ['v2.3.4', '2.3.4'],
        ['v0.1.0', '0.1.0'],
        ['v10.20.30-rc.1', '10.20.30-rc.1'],
        ['v1.0.0-alpha-2.x', '1.0.0-alpha-2.x'],
      ]) {
        const r = runStep(validate.run, { TAG: tag! }, work);
        expect({ tag, status: r.status, outputs: r.outputs }).toEqual({ tag, status: 0, outputs: `tag=${tag}\nversion=${version}\n` });
      }
      const hostile = [
        '',
        '2.3.4',
        'v2.3',
        'v02.3.4',
        'v2.3.4-01',
        'v2.3.4+build.1',
        'v2.3.4-',
        'main',
        'v2.3.4; touch pwned',
        'v2.3.4|s|x|',
        'v2.3.4\nversion=9.9.9',
        'v2.3.4$(touch pwned)',
        `v1.2.3-${'a'.repeat(80)}`,
      ];
      for (const tag of hostile) {
        const r = runStep(validate.run, { TAG: tag }, work);
        expect({ tag, status: r.status, outputs: r.outputs }).toEqual({ tag, status: 1, outputs: '' });
      }
      expect(existsSync(path.join(work, 'pwned'))).toBe(false);
    });

    it('promotes only a tag whose signature GitHub verified, on main, of the commit images.yml built', () => {
      const verify = step('Verify the signed tag and find the images run');
      expect(verify.env).toMatchObject({ TAG: '${{ steps.tag.outputs.tag }}', RUN_SHA: '${{ github.event.workflow_run.head_sha }}' });
      const run = String(verify.run);
      expect(run).toContain('gh api "repos/$REPO/git/ref/tags/$TAG"');
      expect(run).toMatch(/\.object\.type <<<"\$ref"\) == tag \]\] \|\| fail/); // lightweight tags cannot be signed
      expect(run).toContain('gh api "repos/$REPO/git/tags/');
      expect(run).toContain("jq -e '.verification.verified == true'");
      expect(run).toContain('git merge-base --is-ancestor "$commit" origin/main');
      expect(run).toContain('[[ $RUN_SHA != "$commit" ]]');
      expect(job.steps.find((s: any) => String(s.uses).startsWith('actions/checkout')).with).toEqual({ ref: 'main', 'fetch-depth': 0 });
      expect(step('Fetch the image digests of the release').run).toContain("--pattern 'digest-*'");
    });

    it('writes the tag and the recorded digests into the prod overlay, which still builds; refuses a bad digest', () => {
      const set = step('Set the image tags and digests of the prod overlay');
      const prepare = (digestOf: (s: string) => string | undefined) => {
        const work = mkdtempSync(path.join(tmpdir(), 'deploy-'));
        cpSync(path.join(ROOT, 'k8s'), path.join(work, 'k8s'), { recursive: true });
        for (const s of SERVICES) {
          const d = digestOf(s);
          if (d === undefined) continue;
          mkdirSync(path.join(work, 'digests', `digest-${s}`), { recursive: true });
          writeFileSync(path.join(work, 'digests', `digest-${s}`, s), `${d}\n`);
        }
        return work;
      };
      const digest = (s: string) => `sha256:${(SERVICES.indexOf(s) + 1).toString(16).repeat(64)}`;
      const work = prepare(digest);
      const r = runStep(set.run, { VERSION: '2.3.4', OWNER: 'Acme', DIGESTS: path.join(work, 'digests') }, work);
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(4);
      const objs = parseManifests(tool('kubectl', ['kustomize', path.join(work, 'k8s/overlays/prod')]));
      const images = [...ofKind(objs, 'Deployment'), ...ofKind(objs, 'Job')].flatMap((d) =>
        [...(d.spec.template.spec.initContainers ?? []), ...d.spec.template.spec.containers].map((c: any) => c.image),
      );
      expect(new Set(images)).toEqual(new Set(SERVICES.map((s) => `ghcr.io/acme/${s}:2.3.4@${digest(s)}`)));

      for (const bad of [
        (s: string) => (s === 'loader' ? 'sha256:abc' : digest(s)),
        (s: string) => (s === 'monitor' ? undefined : digest(s)),
      ]) {
        const w = prepare(bad);
        const before = readFileSync(path.join(w, 'k8s/overlays/prod/kustomization.yaml'), 'utf8');
        const out = runStep(set.run, { VERSION: '2.3.4', OWNER: 'acme', DIGESTS: path.join(w, 'digests') }, w);
        expect(out.status).not.toBe(0);
        expect(out.stdout).toMatch(/::error::(unexpected digest of loader|no digest recorded for monitor)/);
        expect(readFileSync(path.join(w, 'k8s/overlays/prod/kustomization.yaml'), 'utf8')).toBe(before);
      }
    });

    it('commits only the prod overlay, the one source of truth Argo CD and Flux follow', () => {
      const commit = step('Commit and push');
      expect(commit.run).toContain('git add k8s/overlays/prod/kustomization.yaml\n');
      expect(commit.run.match(/git add/g)).toHaveLength(1);
      const argo = readFileSync(path.join(ROOT, 'k8s/argocd/tributary-prod.yaml'), 'utf8');
      const flux = readFileSync(path.join(ROOT, 'k8s/flux/tributary.yaml'), 'utf8');
      expect(argo).toMatch(/path: k8s\/overlays\/prod\n/);
      expect(flux).toMatch(/path: \.\/k8s\/overlays\/prod\n/);
    });
  });
});
