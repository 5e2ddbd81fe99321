/**
 * Policies of the Pulumi program, checked under mocks for each stack: every container runs as
 * non-root with limits, each service scales on its own, and no secret is in plain configuration
 * or in chart values. The Tributary release's values are rendered with the real helm, so the
 * checks look at the objects the cluster would get.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { tool } from '../../tests/deploy/k8s-tools';
import { find, ofKind, parseManifests, podSpecs, restrictedProblems, type K8sObject } from '../../tests/deploy/manifests';
import { allSchemaProblems } from '../../tests/deploy/k8s-schema';
import { runProgram, stackConfig, TEST_SECRETS, type Registered } from './run-program';

/** Pulumi's marker of a serialized secret: `{ [SECRET_SIG]: SECRET_VALUE_SIG, value }`. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const SECRET_VALUE_SIG = '1b47061264138c4ac30d75fd1eb44270';
const SERVICES = ['ingest-api', 'transformer', 'loader', 'monitor'];

/** Renders a helm Release's chart with its values, as the provider would. */
function renderRelease(release: Registered): K8sObject[] {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pulumi-values-')), 'values.json');
  writeFileSync(file, JSON.stringify(release.inputs.values));
  return parseManifests(
    tool('helm', ['template', release.inputs.name, release.inputs.chart, '--namespace', release.inputs.namespace, '-f', file]),
  );
}

describe.each(['kind', 'eks'])('the Pulumi program on the %s stack', (stackName) => {
  jest.setTimeout(120_000);
  let resources: Registered[] = [];
  let objects: K8sObject[] = [];

  beforeAll(async () => {
    jest.resetModules();
    resources = await runProgram(stackName);
    const release = resources.find((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.inputs.name === 'tributary')!;
    objects = renderRelease(release);
  });

  it('installs NATS and PostgreSQL by chart reference and Tributary from this repository, in a TributaryStack', () => {
    const releases = resources.filter((r) => r.type === 'kubernetes:helm.sh/v3:Release');
    const byName = Object.fromEntries(releases.map((r) => [r.inputs.name, r.inputs]));
    expect(byName.nats).toMatchObject({ chart: 'nats', repositoryOpts: { repo: 'https://nats-io.github.io/k8s/helm/charts/' } });
    expect(byName.nats.values.config.jetstream.enabled).toBe(true);
    expect(byName.tributary.chart).toMatch(/charts\/tributary$/);
    expect(byName.tributary.waitForJobs).toBe(true);
    // kind: the Tributary chart's own PostgreSQL (postgresql.dev); EKS: an existing database, by URL.
    expect(byName.postgresql).toBeUndefined();
    expect(ofKind(objects, 'StatefulSet').map((o) => o.metadata.name)).toEqual(stackName === 'kind' ? ['tributary-postgresql'] : []);
    expect(resources.filter((r) => r.type === 'tributary:index:TributaryStack')).toHaveLength(1);
  });

  it('reaches the cluster through a kubeconfig context (kind) or a stack reference (EKS), never an AWS provider', () => {
    const provider = resources.find((r) => r.type === 'pulumi:providers:kubernetes')!;
    if (stackName === 'kind') expect(provider.inputs.context).toBe('kind-tributary');
    else {
      expect(resources.find((r) => r.type === 'pulumi:pulumi:StackReference')!.inputs.name).toBe('acme/eks-cluster/prod');
      expect(provider.inputs.kubeconfig).toContain('kind: Config');
    }
    expect(resources.filter((r) => r.type.startsWith('aws:') || r.type.startsWith('eks:'))).toEqual([]);
  });

  it('policy: every container runs as non-root with requests and limits', () => {
    expect(allSchemaProblems(objects)).toEqual([]);
    const pods = podSpecs(objects);
    expect(pods.length).toBeGreaterThanOrEqual(5);
    expect(pods.flatMap((p) => restrictedProblems(p.owner, p.spec))).toEqual([]);
    // The charts rendered by the provider: their values set limits.
    const nats = resources.find((r) => r.inputs.name === 'nats')!;
    expect(nats.inputs.values.container.merge.resources.limits.memory).toBeDefined();
    const pg = resources.find((r) => r.inputs.name === 'postgresql');
    if (pg) expect(pg.inputs.values.primary.resources.limits.memory).toBeDefined();
    const ns = resources.find((r) => r.type === 'kubernetes:core/v1:Namespace')!;
    expect(ns.inputs.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  });

  it('policy: each service scales on its own', () => {
    const autoscalers = [...ofKind(objects, 'HorizontalPodAutoscaler'), ...ofKind(objects, 'ScaledObject')];
    for (const s of SERVICES) {
      const d = find(objects, 'Deployment', `tributary-${s}`);
      const own = autoscalers.filter((a) => a.spec.scaleTargetRef.name === d.metadata.name);
      expect(own.length).toBeLessThanOrEqual(1);
      // Either its own autoscaler or its own replica count: never a shared knob.
      if (own.length === 0) expect(d.spec.replicas).toBeGreaterThanOrEqual(1);
      else expect(d.spec.replicas).toBeUndefined();
    }
    if (stackName === 'eks') {
      expect(find(objects, 'HorizontalPodAutoscaler', 'tributary-ingest-api').spec.maxReplicas).toBe(20);
      for (const s of ['transformer', 'loader']) {
        const so = find(objects, 'ScaledObject', `tributary-${s}`);
        expect(so.spec.triggers.map((t: any) => t.metadata.consumer)).toEqual([`${s}-orders`]);
      }
    }
  });

  it('runs R3 streams and two replicas of each service on the three-node NATS cluster (EKS), R1 on one server (kind)', () => {
    const nats = resources.find((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.inputs.name === 'nats')!;
    const migrateEnv = ofKind(objects, 'Job')[0]!.spec.template.spec.containers[0].env;
    // The streams share out the NATS volume, checked against the servers' limits.
    expect(migrateEnv).toContainEqual({ name: 'TRIBUTARY_JETSTREAM_MAX_BYTES', value: stackConfig(stackName)['tributary:natsStorage'] });
    const replicasOf = (s: string): number => {
      const d = find(objects, 'Deployment', `tributary-${s}`);
      const auto = [...ofKind(objects, 'HorizontalPodAutoscaler'), ...ofKind(objects, 'ScaledObject')].find(
        (a) => a.spec.scaleTargetRef.name === d.metadata.name,
      );
      return auto ? (auto.spec.minReplicas ?? auto.spec.minReplicaCount) : d.spec.replicas;
    };
    const natsUrl = (s: string) =>
      find(objects, 'Deployment', `tributary-${s}`).spec.template.spec.containers[0].env.find((e: any) => e.name === 'NATS_URL').value;
    if (stackName === 'eks') {
      expect(nats.inputs.values.config.cluster).toEqual({ enabled: true, replicas: 3 });
      expect(migrateEnv).toContainEqual({ name: 'TRIBUTARY_STREAM_REPLICAS', value: '3' });
      const pods = [0, 1, 2].map((i) => `nats-${i}.nats-headless.tributary.svc`);
      for (const s of SERVICES) {
        expect({ s, replicas: replicasOf(s) >= 2, nats: natsUrl(s) }).toEqual({
          s,
          replicas: true,
          nats: pods.map((p) => `nats://${p}:4222`).join(','),
        });
      }
      const monitorEnv = find(objects, 'Deployment', 'tributary-monitor').spec.template.spec.containers[0].env;
      expect(monitorEnv).toContainEqual({ name: 'NATS_MONITOR_URLS', value: pods.map((p) => `http://${p}:8222`).join(',') });
    } else {
      expect(nats.inputs.values.config.cluster.enabled).toBe(false);
      expect(migrateEnv).toContainEqual({ name: 'TRIBUTARY_STREAM_REPLICAS', value: '1' });
      expect(natsUrl('loader')).toBe('nats://nats.tributary.svc:4222');
      expect(migrateEnv).toContainEqual({ name: 'NATS_MONITOR_URLS', value: 'http://nats-headless.tributary.svc:8222' });
    }
  });

  it('policy: no secret in plain configuration or in chart values', () => {
    for (const [key, value] of Object.entries(stackConfig(stackName))) {
      if (/password|secret|hmac|token|kubeconfig|postgresUrl/i.test(key))
        expect({ key, value }).toEqual({ key, value: { secure: expect.any(String) } });
    }
    const secretValues = Object.values(TEST_SECRETS[stackName]!);
    for (const r of resources) {
      const text = JSON.stringify(r.inputs);
      const leaks = secretValues.filter((v) => text.includes(v) || text.includes(v.split(':').slice(-1)[0]!));
      if (r.type === 'kubernetes:core/v1:Secret') continue; // where they belong
      expect({ resource: `${r.type} ${r.name}`, leaks }).toEqual({ resource: `${r.type} ${r.name}`, leaks: [] });
    }
    // The chart gets references to the Secret the program made, not values.
    const secret = resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'tributary-secrets')!;
    // Pulumi marks the whole stringData secret (its envelope carries Pulumi's secret signature), so state and previews hide it.
    expect(secret.inputs.stringData[SECRET_SIG]).toBe(SECRET_VALUE_SIG);
    expect(Object.keys(secret.inputs.stringData.value).sort()).toEqual(
      stackName === 'kind' ? ['database-url', 'hmac-key', 'postgres-password'] : ['database-url', 'hmac-key'],
    );
    expect(ofKind(objects, 'Secret').filter((s) => !s.metadata.name.includes('migrate'))).toEqual([]);
    const loader = find(objects, 'Deployment', 'tributary-loader');
    expect(loader.spec.template.spec.containers[0].env).toContainEqual({
      name: 'DATABASE_URL',
      valueFrom: { secretKeyRef: { name: 'tributary-secrets', key: 'database-url' } },
    });
  });

  it('ships the pipeline folder of the stack, and runs the pods of the official NATS chart under the restricted profile its namespace enforces', () => {
    const pipelines = find(objects, 'ConfigMap', 'tributary-pipelines');
    expect(Object.keys(pipelines.data!).sort()).toEqual(['orders.yaml', 'schemas__order.json']);
    const nats = resources.find((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.inputs.name === 'nats')!.inputs.values;
    // The nats-io/k8s chart's contract: podTemplate.merge into the pod, container.merge into the
    // nats container, reloader.merge into the config reloader (the chart's other container).
    const spec = {
      ...nats.podTemplate.merge.spec,
      containers: [
        { name: 'nats', ...nats.container.merge },
        { name: 'reloader', ...nats.reloader.merge, resources: nats.container.merge.resources },
      ],
    };
    expect(restrictedProblems('nats', spec).filter((p) => !/limits|requests/.test(p))).toEqual([]);
    expect(nats.config.jetstream.fileStore.maxSize).toBe(nats.config.jetstream.fileStore.pvc.size);
  });
});
