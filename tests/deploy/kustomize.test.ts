/**
 * The kustomize tree under k8s/, built by the real kubectl (its kustomize supports components):
 * the base alone, the base with each component alone, all components together, and each overlay;
 * every object validated against the Kubernetes schemas. Also the GitOps objects (Argo CD, Flux)
 * and the alert rules and dashboard the monitoring component renders.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadPipelines } from '@tributary/contract/spec';
import { ROOT, tool } from './k8s-tools';
import { find, ofKind, parseManifests, podSpecs, restrictedProblems, type K8sObject } from './manifests';
import { allSchemaProblems } from './k8s-schema';

const K8S = path.join(ROOT, 'k8s');
const COMPONENTS = readdirSync(path.join(K8S, 'components')).sort();
const SERVICES = ['ingest-api', 'transformer', 'loader', 'monitor'];

const build = (dir: string): K8sObject[] => parseManifests(tool('kubectl', ['kustomize', dir]));

/** Builds the base with the given components, through a kustomization written in a temp folder inside k8s/ (kustomize only loads files below its root). */
function buildWith(components: string[]): K8sObject[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'kustomize-'));
  const rel = (p: string) => path.relative(dir, path.join(K8S, p));
  writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${rel('base')}]\ncomponents: [${components.map((c) => rel(`components/${c}`)).join(', ')}]\n`,
  );
  return parseManifests(tool('kubectl', ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', dir]));
}

function expectSound(objs: K8sObject[]): void {
  expect(allSchemaProblems(objs)).toEqual([]);
  expect(podSpecs(objs).flatMap((p) => restrictedProblems(p.owner, p.spec))).toEqual([]);
  const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
  expect(new Set(names).size).toBe(names.length);
}

describe('k8s/ (kustomize)', () => {
  jest.setTimeout(120_000);

  it('has the components network-policies, hpa, pdb and monitoring', () => {
    expect(COMPONENTS).toEqual(['hpa', 'monitoring', 'network-policies', 'pdb']);
  });

  it('builds the base into the four services and the migrate Job, restricted and valid', () => {
    const objs = build(path.join(K8S, 'base'));
    expectSound(objs);
    expect(
      ofKind(objs, 'Deployment')
        .map((d) => d.metadata.name)
        .sort(),
    ).toEqual([...SERVICES].sort());
    const job = find(objs, 'Job', 'migrate');
    expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'apps/cli/dist/cli.js', 'migrate']);
    expect(job.metadata.annotations!['argocd.argoproj.io/hook']).toBe('PreSync');
    const config = ofKind(objs, 'ConfigMap')[0]!;
    // The generated name carries a content hash and every reference follows it.
    expect(config.metadata.name).toMatch(/^tributary-config-[a-z0-9]+$/);
    for (const d of ofKind(objs, 'Deployment')) {
      expect(d.spec.template.spec.containers[0].envFrom).toEqual([{ configMapRef: { name: config.metadata.name } }]);
      expect(d.spec.selector.matchLabels['app.kubernetes.io/part-of']).toBe('tributary');
    }
  });

  it.each(COMPONENTS)('builds the base with the %s component alone', (component) => {
    const objs = buildWith([component]);
    expectSound(objs);
    const added = {
      hpa: 'HorizontalPodAutoscaler',
      pdb: 'PodDisruptionBudget',
      'network-policies': 'NetworkPolicy',
      monitoring: 'ServiceMonitor',
    }[component]!;
    expect(ofKind(objs, added).length).toBeGreaterThan(0);
  });

  it('builds the base with every component together', () => {
    const objs = buildWith(COMPONENTS);
    expectSound(objs);
    // An HPA owns the replicas of what it scales; the monitor keeps its own.
    for (const hpa of ofKind(objs, 'HorizontalPodAutoscaler'))
      expect(find(objs, 'Deployment', hpa.spec.scaleTargetRef.name).spec.replicas).toBeUndefined();
    expect(find(objs, 'Deployment', 'monitor').spec.replicas).toBe(2);
    expect(ofKind(objs, 'PodDisruptionBudget')).toHaveLength(4);
  });

  it('builds the dev overlay for a kind cluster', () => {
    const objs = build(path.join(K8S, 'overlays/dev'));
    expectSound(objs);
    for (const o of objs) expect(o.metadata.namespace).toBe('tributary-dev');
    for (const d of ofKind(objs, 'Deployment')) {
      expect(d.spec.replicas).toBe(1);
      expect(d.spec.template.spec.containers[0]).toMatchObject({
        image: `localhost/tributary/${d.metadata.name}:dev`,
        imagePullPolicy: 'Never',
      });
    }
    const config = ofKind(objs, 'ConfigMap')[0]!;
    expect(config.data).toMatchObject({
      NATS_URL: 'nats://nats.tributary-dev:4222',
      LOG_LEVEL: 'debug',
      TRIBUTARY_PIPELINES: '/app/pipelines',
    });
    const secret = ofKind(objs, 'Secret').find((x) => x.metadata.name.startsWith('tributary-database-'))!;
    expect(find(objs, 'Deployment', 'loader').spec.template.spec.containers[0].env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: secret.metadata.name, key: 'database-url' } },
    });
  });

  it('builds the prod overlay with every component, registry images and the mounted pipelines', () => {
    const objs = build(path.join(K8S, 'overlays/prod'));
    expectSound(objs);
    for (const kind of ['NetworkPolicy', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'ServiceMonitor', 'PrometheusRule']) {
      expect(ofKind(objs, kind).length).toBeGreaterThan(0);
    }
    expect(ofKind(objs, 'Secret')).toEqual([]); // secrets exist in the cluster, never in git
    const pipelines = ofKind(objs, 'ConfigMap').find((c) => c.metadata.name.startsWith('tributary-pipelines-'))!;
    expect(Object.keys(pipelines.data!).sort()).toEqual(['orders.yaml', 'schemas__order.json']);
    const mount = { name: 'pipelines', mountPath: '/etc/tributary/pipelines', readOnly: true };
    for (const w of [...ofKind(objs, 'Deployment'), ...ofKind(objs, 'Job')]) {
      const spec = w.spec.template.spec;
      expect(spec.volumes.find((v: any) => v.name === 'pipelines').configMap).toMatchObject({
        name: pipelines.metadata.name,
        items: [
          { key: 'orders.yaml', path: 'orders.yaml' },
          { key: 'schemas__order.json', path: 'schemas/order.json' },
        ],
      });
      expect(spec.containers[0].volumeMounts).toContainEqual(mount);
      if (w.kind === 'Deployment') expect(spec.initContainers[0].volumeMounts).toContainEqual(mount);
      expect(spec.containers[0].image).toMatch(/^ghcr\.io\/tributary\/(ingest-api|transformer|loader|monitor):/);
    }
    // The HMAC key is required: no `optional` fallback to the public development key.
    const hmac = find(objs, 'Deployment', 'transformer').spec.template.spec.containers[0].env.find(
      (e: any) => e.name === 'TRIBUTARY_HMAC_KEY',
    );
    expect(hmac.valueFrom.secretKeyRef).toEqual({ name: 'tributary-hmac', key: 'hmac-key' });
  });

  it('ships the prod pipeline folder through the generated component, current and accepted by the real pipeline loader', () => {
    const folder = path.join(K8S, 'overlays/prod/pipelines');

    const { kustomizeComponent, pipelineFiles } = require(path.join(ROOT, 'scripts/pipelines-values'));
    expect(readFileSync(path.join(folder, 'kustomization.yaml'), 'utf8')).toBe(kustomizeComponent('k8s/overlays/prod/pipelines'));
    // What the cluster gets: the files of the ConfigMap, at their paths.
    const dir = mkdtempSync(path.join(tmpdir(), 'prod-pipelines-'));
    for (const [rel, text] of Object.entries(pipelineFiles(folder).files as Record<string, string>)) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), text);
    }
    expect(loadPipelines(dir).map((p) => p.name)).toEqual(['orders']);
  });

  it('renders the alert rules and the dashboard the monitoring component is generated with', () => {
    // The component's files are generated (npm run generate:monitoring; tests/docs checks they are
    // current): here, what kustomize makes of them carries the rules and the dashboard unchanged.
    const objs = buildWith(['monitoring']);
    const rules = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/tributary-rules.yml'), 'utf8'));
    expect(find(objs, 'PrometheusRule', 'tributary').spec.groups).toEqual(rules.groups);
    expect(find(objs, 'ConfigMap', 'tributary-dashboard').data!['tributary.json']).toBe(
      readFileSync(path.join(ROOT, 'deploy/grafana/tributary.json'), 'utf8'),
    );
  });

  it('gives production one GitOps source of truth: Argo CD and Flux both follow the prod overlay the deploy workflow moves', () => {
    const argo = parseManifests(readFileSync(path.join(K8S, 'argocd/tributary-prod.yaml'), 'utf8'));
    const flux = parseManifests(readFileSync(path.join(K8S, 'flux/tributary.yaml'), 'utf8'));
    expect(allSchemaProblems([...argo, ...flux])).toEqual([]);
    // One Application: applying the file as the docs say deploys Tributary once.
    expect(argo.map((a) => [a.kind, a.spec.source.path])).toEqual([['Application', 'k8s/overlays/prod']]);
    const ks = find(flux, 'Kustomization', 'tributary');
    expect(ks.spec).toMatchObject({ path: './k8s/overlays/prod', prune: true, force: true });
    expect(ofKind(flux, 'HelmRelease')).toEqual([]);
    // The overlay whose image lines the deploy workflow rewrites.
    const workflow = readFileSync(path.join(ROOT, '.github/workflows/deploy.yml'), 'utf8');
    expect(workflow).toContain('k8s/overlays/prod');
  });
});
