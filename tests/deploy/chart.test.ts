/**
 * The Helm chart, proven by the real helm: `helm lint --strict` and `helm template` of every
 * scenario in charts/tributary/ci/, the objects validated against the Kubernetes schemas, then
 * assertions on what each scenario changes (nats-io/k8s style: check what differs from defaults).
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { isMap, isPair, isScalar, parse, parseDocument, type Pair } from 'yaml';
import { loadPipelines } from '@tributary/contract/spec';
import { ROOT, runTool, tool } from './k8s-tools';
import { find, ofKind, parseManifests, podSpecs, restrictedProblems, type K8sObject } from './manifests';
import { allSchemaProblems } from './k8s-schema';

const CHART = path.join(ROOT, 'charts/tributary');
const SCENARIOS = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('.yaml'));
const COMPONENTS = ['ingest-api', 'transformer', 'loader', 'monitor'];

const rendered = new Map<string, K8sObject[]>();
/** Renders the chart as release `t` with the values of `scenario` (cached per scenario). */
function render(scenario: string, extra: string[] = []): K8sObject[] {
  const key = [scenario, ...extra].join(' ');
  if (!rendered.has(key)) {
    const out = tool('helm', ['template', 't', CHART, '--namespace', 'data', '-f', path.join(CHART, 'ci', scenario), ...extra]);
    rendered.set(key, parseManifests(out));
  }
  return rendered.get(key)!;
}
const deployment = (objs: K8sObject[], c: string) => find(objs, 'Deployment', `t-tributary-${c}`);
const env = (d: K8sObject): Record<string, any> =>
  Object.fromEntries(d.spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('the tributary chart', () => {
  jest.setTimeout(120_000);

  it('has a scenario per shape of deployment in ci/', () => {
    expect(SCENARIOS.sort()).toEqual([
      'default-values.yaml',
      'dev-cluster.yaml',
      'nats-cluster.yaml',
      'overrides.yaml',
      'production-keda.yaml',
    ]);
  });

  it.each(SCENARIOS)('passes helm lint --strict with ci/%s', (scenario) => {
    const r = runTool('helm', ['lint', '--strict', CHART, '-f', path.join(CHART, 'ci', scenario)]);
    expect(r.stderr + r.stdout).toContain('0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  it.each(SCENARIOS)('renders ci/%s into objects that match the Kubernetes schemas', (scenario) => {
    const objs = render(scenario);
    expect(objs.length).toBeGreaterThan(10);
    expect(allSchemaProblems(objs)).toEqual([]);
    const names = objs.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(names).size).toBe(names.length);
  });

  it.each(SCENARIOS)('runs every pod of ci/%s under the restricted security profile with limits', (scenario) => {
    const pods = podSpecs(render(scenario));
    expect(pods.length).toBeGreaterThan(0);
    expect(pods.flatMap((p) => restrictedProblems(p.owner, p.spec))).toEqual([]);
  });

  it.each(SCENARIOS)('never gives one service both an HPA and a KEDA ScaledObject in ci/%s', (scenario) => {
    const objs = render(scenario);
    const targets = [...ofKind(objs, 'HorizontalPodAutoscaler'), ...ofKind(objs, 'ScaledObject')].map((o) => o.spec.scaleTargetRef.name);
    expect(new Set(targets).size).toBe(targets.length);
    // A Deployment under an autoscaler leaves replicas to it, so upgrades do not reset the scale.
    for (const name of targets) expect(find(objs, 'Deployment', name).spec.replicas).toBeUndefined();
  });

  it('rejects values the schema does not know, and KEDA for ingest-api', () => {
    const unknown = runTool('helm', ['template', 't', CHART, '--set', 'components.loader.replica=3']);
    expect(unknown.status).not.toBe(0);
    expect(unknown.stderr).toMatch(/replica/);
    const keda = runTool('helm', ['template', 't', CHART, '--set', 'components.ingest-api.autoscaling.mode=keda']);
    expect(keda.status).not.toBe(0);
    expect(keda.stderr).toContain('components.ingest-api.autoscaling.mode');
  });

  describe('defaults (ci/default-values.yaml)', () => {
    const objs = () => render('default-values.yaml');

    it('deploys each service from the one template with its port, probes and service', () => {
      for (const c of COMPONENTS) {
        const d = deployment(objs(), c);
        const container = d.spec.template.spec.containers[0];
        expect(container.image).toBe(`ghcr.io/tributary/${c}:0.1.0`);
        expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http', scheme: 'HTTP' });
        expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http', scheme: 'HTTP' });
        // Endpoints let go of the pod before SIGTERM; the grace period covers the wait and the drain.
        expect(container.lifecycle.preStop.exec.command).toEqual(['node', '-e', 'setTimeout(() => {}, 5000)']);
        expect(d.spec.template.spec.terminationGracePeriodSeconds).toBe(35);
        // The pod waits for migrate in Init instead of crash-looping.
        expect(d.spec.template.spec.initContainers[0]).toMatchObject({
          name: 'wait-for-migrate',
          image: 'ghcr.io/tributary/loader:0.1.0',
          command: ['node', 'apps/cli/dist/cli.js', 'wait', '10m'],
        });
        expect(find(objs(), 'PodDisruptionBudget', `t-tributary-${c}`).spec).toMatchObject({ maxUnavailable: 1 });
        expect(d.spec.template.spec.serviceAccountName).toBe(`t-tributary-${c}`);
        expect(d.spec.template.spec.automountServiceAccountToken).toBe(false);
        expect(d.spec.template.spec.volumes).toContainEqual(expect.objectContaining({ name: 'tmp', emptyDir: expect.anything() }));
        const svc = find(objs(), 'Service', `t-tributary-${c}`);
        expect(svc.spec.ports[0]).toMatchObject({ name: 'http', port: container.ports[0].containerPort, targetPort: 'http' });
        expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
        find(objs(), 'ServiceAccount', `t-tributary-${c}`);
        find(objs(), 'PodDisruptionBudget', `t-tributary-${c}`);
      }
      expect(env(deployment(objs(), 'loader'))).toMatchObject({
        LOADER_PORT: '8083',
        NATS_URL: 'nats://nats:4222',
        TRIBUTARY_PIPELINES: '/etc/tributary/pipelines',
      });
      expect(env(deployment(objs(), 'monitor')).MONITOR_PORT).toBe('8080');
    });

    it('connects to existing NATS and PostgreSQL and gives DATABASE_URL to all but ingest-api, from a Secret', () => {
      for (const c of COMPONENTS) {
        const e = env(deployment(objs(), c));
        // The transformer finalizes windows and reads `enrich` tables there.
        if (c !== 'ingest-api') expect(e.DATABASE_URL).toEqual({ secretKeyRef: { name: 't-tributary-secrets', key: 'database-url' } });
        else expect(e.DATABASE_URL).toBeUndefined();
      }
      expect(ofKind(objs(), 'StatefulSet')).toEqual([]);
      const secret = find(objs(), 'Secret', 't-tributary-secrets');
      expect(Buffer.from(secret.data!['database-url']!, 'base64').toString()).toBe('postgres://tributary@postgresql:5432/tributary');
    });

    it('runs migrate as a pre-install/pre-upgrade hook with the CLI, after its hook copies', () => {
      const job = find(objs(), 'Job', 't-tributary-migrate');
      expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-5' });
      const c = job.spec.template.spec.containers[0];
      expect(c.command).toEqual(['node', 'apps/cli/dist/cli.js', 'migrate']);
      expect(c.image).toBe('ghcr.io/tributary/loader:0.1.0');
      // Hooks run before the release's objects exist: the Job reads the hook copy of the Secret.
      expect(c.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe('t-tributary-migrate-secrets');
      for (const kind of ['ServiceAccount', 'Secret']) {
        const o = find(objs(), kind, kind === 'Secret' ? 't-tributary-migrate-secrets' : 't-tributary-migrate');
        expect(Number(o.metadata.annotations!['helm.sh/hook-weight'])).toBeLessThan(-5);
      }
    });

    it('scales ingest-api, transformer and loader each with its own HPA, the monitor not at all', () => {
      const hpas = ofKind(objs(), 'HorizontalPodAutoscaler').map((h) => h.spec.scaleTargetRef.name);
      expect(hpas.sort()).toEqual(['t-tributary-ingest-api', 't-tributary-loader', 't-tributary-transformer']);
      expect(deployment(objs(), 'monitor').spec.replicas).toBe(2);
    });

    it('denies ingress but for metrics scrapers and the public ports, and limits egress', () => {
      const egress = find(objs(), 'NetworkPolicy', 't-tributary-egress');
      expect(egress.spec.policyTypes).toEqual(['Egress']);
      const ports = egress.spec.egress.flatMap((r: any) => r.ports.map((p: any) => p.port));
      expect(ports).toEqual(expect.arrayContaining([53, 4222, 5432]));
      const transformer = find(objs(), 'NetworkPolicy', 't-tributary-transformer');
      expect(transformer.spec.ingress).toHaveLength(1); // scrapers only
      const ingest = find(objs(), 'NetworkPolicy', 't-tributary-ingest-api');
      expect(ingest.spec.ingress[1]).toEqual({ ports: [{ port: 'http', protocol: 'TCP' }] }); // anyone
      expect(ingest.spec.egress).toEqual([{ ports: [{ port: 443, protocol: 'TCP' }] }]);
    });

    it('creates no monitoring objects unless asked (their CRDs may be missing)', () => {
      for (const kind of ['ServiceMonitor', 'PrometheusRule', 'ScaledObject']) expect(ofKind(objs(), kind)).toEqual([]);
    });
  });

  describe('production (ci/production-keda.yaml)', () => {
    const objs = () => render('production-keda.yaml');

    it('scales transformer and loader with KEDA on the lag of each pipeline consumer', () => {
      const so = find(objs(), 'ScaledObject', 't-tributary-transformer');
      expect(so.spec.triggers).toEqual([
        expect.objectContaining({
          type: 'nats-jetstream',
          metadata: expect.objectContaining({ stream: 'TRIB_RAW', consumer: 'transformer-orders' }),
        }),
        expect.objectContaining({
          type: 'nats-jetstream',
          metadata: expect.objectContaining({ stream: 'TRIB_RAW', consumer: 'transformer-traffic' }),
        }),
      ]);
      // The official NATS chart serves 8222 on its headless Service only: nats.monitorUrl names it.
      expect(so.spec.triggers[0].metadata.natsServerMonitoringEndpoint).toBe('nats-headless.messaging.svc:8222');
      const loader = find(objs(), 'ScaledObject', 't-tributary-loader');
      expect(loader.spec.triggers.map((t: any) => t.metadata.consumer)).toEqual(['loader-orders', 'loader-traffic']);
      expect(loader.spec.triggers[0].metadata.stream).toBe('TRIB_PROCESSED');
      expect(ofKind(objs(), 'HorizontalPodAutoscaler').map((h) => h.metadata.name)).toEqual(['t-tributary-ingest-api']);
    });

    it('mounts the pipeline specs at their paths and rolls the pods when they change', () => {
      const cm = find(objs(), 'ConfigMap', 't-tributary-pipelines');
      expect(Object.keys(cm.data!).sort()).toEqual(['orders.yaml', 'schemas__passage.json', 'traffic.yaml']);
      const d = deployment(objs(), 'transformer');
      const vol = d.spec.template.spec.volumes.find((v: any) => v.name === 'pipelines');
      expect(vol.configMap.items).toContainEqual({ key: 'schemas__passage.json', path: 'schemas/passage.json' });
      expect(env(d).TRIBUTARY_PIPELINES).toBe('/etc/tributary/pipelines');
      const before = d.spec.template.metadata.annotations['checksum/pipelines'];
      const changed = render('production-keda.yaml', ['--set-string', 'pipelines.files.orders\\.yaml=pipeline: orders2']);
      expect(deployment(changed, 'transformer').spec.template.metadata.annotations['checksum/pipelines']).not.toBe(before);
    });

    it('ships specs that the real pipeline loader accepts', () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'chart-pipelines-'));
      const files = parseDocument(readFileSync(path.join(CHART, 'ci/production-keda.yaml'), 'utf8')).toJS().pipelines.files as Record<
        string,
        string
      >;
      for (const [file, content] of Object.entries(files)) {
        mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        writeFileSync(path.join(dir, file), content);
      }
      expect(
        loadPipelines(dir)
          .map((p) => p.name)
          .sort(),
      ).toEqual(['orders', 'traffic']);
    });

    it('takes every secret from existing Secrets and creates none of its own', () => {
      expect(ofKind(objs(), 'Secret')).toEqual([]);
      expect(env(find(objs(), 'Job', 't-tributary-migrate')).DATABASE_URL).toEqual({ secretKeyRef: { name: 'warehouse-db', key: 'url' } });
      expect(env(deployment(objs(), 'transformer')).TRIBUTARY_HMAC_KEY).toEqual({
        secretKeyRef: { name: 'tributary-hmac', key: 'hmac-key' },
      });
      const ingest = deployment(objs(), 'ingest-api');
      expect(env(ingest).TRIBUTARY_API_KEYS_FILE).toBe('/etc/tributary/api-keys/api-keys.json');
      expect(ingest.spec.template.spec.volumes).toContainEqual({
        name: 'api-keys',
        secret: { secretName: 'tributary-api-keys', items: [{ key: 'api-keys.json', path: 'api-keys.json' }] },
      });
      expect(ingest.spec.template.spec.containers[0].envFrom).toEqual([{ secretRef: { name: 'source-credentials' } }]);
    });

    it('runs migrate --roles as the owner and each database service on its own least-privilege login', () => {
      const job = find(objs(), 'Job', 't-tributary-migrate');
      expect(job.spec.template.spec.containers[0].command).toEqual(['node', 'apps/cli/dist/cli.js', 'migrate', '--roles']);
      expect(env(deployment(objs(), 'loader')).DATABASE_URL).toEqual({ secretKeyRef: { name: 'warehouse-loader', key: 'url' } });
      expect(env(deployment(objs(), 'monitor')).DATABASE_URL).toEqual({ secretKeyRef: { name: 'warehouse-monitor', key: 'url' } });
      expect(env(deployment(objs(), 'ingest-api')).DATABASE_URL).toBeUndefined();
    });

    it('exports traces to the OTLP endpoint and names images from the registry settings', () => {
      const d = deployment(objs(), 'monitor');
      expect(env(d)).toMatchObject({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel-collector.observability:4318',
        OTEL_SERVICE_NAME: 'monitor',
      });
      expect(env(d).OTEL_RESOURCE_ATTRIBUTES).toContain('deployment.environment=production');
      expect(d.spec.template.spec.containers[0].image).toBe('registry.example.com/data/tributary/monitor:1.2.3');
      expect(d.spec.template.spec.imagePullSecrets).toEqual([{ name: 'registry-pull' }]);
    });

    it('renders the ServiceMonitor, the PrometheusRule and the dashboard', () => {
      const sm = find(objs(), 'ServiceMonitor', 't-tributary');
      expect(sm.metadata.labels!.release).toBe('kube-prometheus-stack');
      expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', interval: '30s' }]);
      const rule = find(objs(), 'PrometheusRule', 't-tributary');
      const alerts = rule.spec.groups.flatMap((g: any) => g.rules.map((r: any) => r.alert));
      expect(alerts).toEqual(expect.arrayContaining(['TributaryFreshnessBreach', 'TributaryConsumerLag', 'TributaryDlqGrowth']));
      // Prometheus' own templates survive Helm's.
      expect(JSON.stringify(rule.spec)).toContain('{{ $labels.pipeline }}');
      for (const r of rule.spec.groups.flatMap((g: any) => g.rules)) expect(r.expr).toMatch(/tributary_|up\b/);
      const dash = JSON.parse(find(objs(), 'ConfigMap', 't-tributary-dashboard').data!['tributary.json']!);
      expect(dash.panels.length).toBeGreaterThan(4);
    });

    it('renders the alert rules and the dashboard of deploy/prometheus and deploy/grafana unchanged', () => {
      // Helm reads only files inside the chart: files/ holds generated copies (npm run generate:monitoring).
      const rules = parse(readFileSync(path.join(ROOT, 'deploy/prometheus/tributary-rules.yml'), 'utf8'));
      expect(find(objs(), 'PrometheusRule', 't-tributary').spec.groups).toEqual(rules.groups);
      expect(find(objs(), 'ConfigMap', 't-tributary-dashboard').data!['tributary.json']).toBe(
        readFileSync(path.join(ROOT, 'deploy/grafana/tributary.json'), 'utf8'),
      );
    });

    it('restricts NATS and PostgreSQL egress to the given peers', () => {
      const egress = find(objs(), 'NetworkPolicy', 't-tributary-egress').spec.egress;
      expect(egress.find((r: any) => r.ports[0].port === 4222).to).toEqual([
        { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'messaging' } } },
      ]);
      expect(egress.find((r: any) => r.ports[0].port === 5432).to).toEqual([{ ipBlock: { cidr: '10.20.0.0/16' } }]);
      expect(egress.find((r: any) => r.ports[0].port === 4318)).toBeDefined();
    });
  });

  describe('dev cluster (ci/dev-cluster.yaml)', () => {
    const objs = () => render('dev-cluster.yaml');

    it('runs its own JetStream NATS and points every service at it', () => {
      const sts = find(objs(), 'StatefulSet', 't-tributary-nats');
      expect(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage).toBe('1Gi');
      expect(find(objs(), 'ConfigMap', 't-tributary-nats').data!['nats.conf']).toContain('max_file_store: 1Gi');
      for (const c of COMPONENTS) expect(env(deployment(objs(), c)).NATS_URL).toBe('nats://t-tributary-nats:4222');
    });

    it('runs its own PostgreSQL, and migrate as a plain Job sized to the NATS volume, ordered after both', () => {
      const pg = find(objs(), 'StatefulSet', 't-tributary-postgresql');
      expect(pg.metadata.annotations).toMatchObject({ 'argocd.argoproj.io/sync-wave': '-1' });
      const secret = find(objs(), 'Secret', 't-tributary-secrets');
      expect(Buffer.from(secret.data!['database-url']!, 'base64').toString()).toBe(
        'postgres://tributary:tributary@t-tributary-postgresql:5432/tributary',
      );
      // A pre-install hook would run before the chart's NATS and PostgreSQL exist and never finish.
      const [job, ...more] = ofKind(objs(), 'Job');
      expect(more).toEqual([]);
      expect(job!.metadata.name).toMatch(/^t-tributary-migrate-[0-9a-f]{8}$/);
      expect(job!.metadata.annotations).toEqual({ 'argocd.argoproj.io/sync-wave': '0' });
      expect(env(job!)).toMatchObject({ TRIBUTARY_JETSTREAM_MAX_BYTES: '1Gi', NATS_MONITOR_URLS: 'http://t-tributary-nats:8222' });
      expect(deployment(objs(), 'loader').metadata.annotations).toMatchObject({ 'argocd.argoproj.io/sync-wave': '1' });
      expect(find(objs(), 'StatefulSet', 't-tributary-nats').metadata.annotations).toMatchObject({ 'argocd.argoproj.io/sync-wave': '-1' });
    });

    it('uses images loaded into the nodes, one replica each, no policies', () => {
      for (const c of COMPONENTS) {
        const d = deployment(objs(), c);
        expect(d.spec.replicas).toBe(1);
        expect(d.spec.template.spec.containers[0]).toMatchObject({ image: `localhost/tributary/${c}:dev`, imagePullPolicy: 'Never' });
      }
      for (const kind of ['NetworkPolicy', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']) expect(ofKind(objs(), kind)).toEqual([]);
    });
  });

  describe('a three-node JetStream cluster (ci/nats-cluster.yaml)', () => {
    const objs = () => render('nats-cluster.yaml');
    const pods = ['t-tributary-nats-0', 't-tributary-nats-1', 't-tributary-nats-2'].map((p) => `${p}.t-tributary-nats-headless`);

    it('runs three routed NATS servers that start together, one at most down at a time', () => {
      const sts = find(objs(), 'StatefulSet', 't-tributary-nats');
      expect(sts.spec).toMatchObject({ replicas: 3, serviceName: 't-tributary-nats-headless', podManagementPolicy: 'Parallel' });
      const conf = find(objs(), 'ConfigMap', 't-tributary-nats').data!['nats.conf']!;
      expect(conf).toContain(`routes: [${pods.map((p) => `nats://${p}:6222`).join(', ')}]`);
      expect(conf).toMatch(/server_name: \$POD_NAME/);
      expect(find(objs(), 'Service', 't-tributary-nats-headless').spec).toMatchObject({
        clusterIP: 'None',
        publishNotReadyAddresses: true,
      });
      expect(find(objs(), 'PodDisruptionBudget', 't-tributary-nats').spec.maxUnavailable).toBe(1);
    });

    it('creates R3 streams in migrate and gives two replicas of every service all three servers', () => {
      const job = ofKind(objs(), 'Job')[0]!;
      expect(job.metadata.name).toMatch(/^t-tributary-migrate-[0-9a-f]{8}$/);
      expect(env(job).TRIBUTARY_STREAM_REPLICAS).toBe('3');
      for (const c of COMPONENTS) {
        const d = deployment(objs(), c);
        expect({ c, replicas: d.spec.replicas, nats: env(d).NATS_URL }).toEqual({
          c,
          replicas: 2,
          nats: pods.map((p) => `nats://${p}:4222`).join(','),
        });
      }
      expect(env(deployment(objs(), 'monitor')).NATS_MONITOR_URLS).toBe(pods.map((p) => `http://${p}:8222`).join(','));
      // Routes between the servers are allowed by the egress policy.
      const egress = find(objs(), 'NetworkPolicy', 't-tributary-egress').spec.egress;
      expect(egress.flatMap((r: any) => r.ports.map((p: any) => p.port))).toContain(6222);
    });

    it('refuses more stream replicas than NATS servers, and a cluster without our own NATS', () => {
      const single = runTool('helm', ['template', 't', CHART, '--set', 'nats.dev.enabled=true', '--set', 'jetstream.replicas=3']);
      expect(single.status).not.toBe(0);
      expect(single.stderr).toContain("jetstream.replicas is 3 but the chart's NATS has 1 server(s)");
      const external = runTool('helm', ['template', 't', CHART, '--set', 'nats.cluster.enabled=true']);
      expect(external.status).not.toBe(0);
      expect(external.stderr).toContain('set nats.dev.enabled too');
      expect(env(find(render('default-values.yaml'), 'Job', 't-tributary-migrate')).TRIBUTARY_STREAM_REPLICAS).toBe('1');
    });
  });

  describe('overrides (ci/overrides.yaml)', () => {
    const objs = () => render('overrides.yaml');

    it('applies merge and patch to the Deployment and the Job', () => {
      const spec = deployment(objs(), 'transformer').spec.template.spec;
      expect(spec.nodeSelector).toEqual({ workload: 'etl' });
      expect(spec.tolerations).toEqual([{ key: 'etl', operator: 'Exists', effect: 'NoSchedule' }]);
      expect(spec.terminationGracePeriodSeconds).toBe(45);
      expect(spec.topologySpreadConstraints).toBeUndefined();
      expect(spec.containers[0].env.at(-1)).toEqual({ name: 'NODE_OPTIONS', value: '--max-old-space-size=384' });
      // The other components keep their defaults.
      expect(deployment(objs(), 'loader').spec.template.spec.nodeSelector).toBeUndefined();
      expect(find(objs(), 'Job', 't-tributary-migrate').spec.template.spec.priorityClassName).toBe('tributary-migrate');
    });

    it('scales the transformer with KEDA on the monitor metric in Prometheus for the listed pipelines', () => {
      const so = find(objs(), 'ScaledObject', 't-tributary-transformer');
      expect(so.spec.triggers.map((t: any) => t.type)).toEqual(['prometheus', 'prometheus']);
      expect(so.spec.triggers[1].metadata.query).toContain('tributary_consumer_pending_messages{pipeline="orders",stage="transformer"}');
    });

    it('refuses, with what to set, a deploy without pipelines, HMAC key or API keys (no silent examples or defaults)', () => {
      const fails = (...set: string[]) => runTool('helm', ['template', 't', CHART, ...set.flatMap((x) => ['--set', x])]).stderr;
      const keyed = ['secrets.hmacKeyExistingSecret=h', 'secrets.apiKeysExistingSecret=k'];
      expect(fails(...keyed)).toContain('no pipelines: give your pipeline folder with `-f <(scripts/pipelines-values <folder>)`');
      expect(fails('pipelines.examples=true', 'secrets.apiKeysExistingSecret=k')).toContain(
        'secrets.hmacKey or secrets.hmacKeyExistingSecret is required',
      );
      expect(fails('pipelines.examples=true', 'secrets.hmacKeyExistingSecret=h')).toContain(
        'secrets.apiKeys or secrets.apiKeysExistingSecret is required',
      );
      expect(
        fails(
          'pipelines.examples=true',
          ...keyed,
          'components.loader.autoscaling.mode=keda',
          'components.loader.autoscaling.pipelines={traffic}',
        ),
      ).toContain('set nats.monitorUrl (e.g. http://nats-headless.nats:8222 for the official NATS chart)');
    });

    it('pins images by digest, mounts extra volumes and TLS, and probes over HTTPS then', () => {
      const digest = `sha256:${'ab'.repeat(32)}`;
      const objs = render('default-values.yaml', [
        '--set-json',
        `global.image.digests={"loader":"${digest}"}`,
        '--set-json',
        'global.extraVolumes=[{"name":"archive","persistentVolumeClaim":{"claimName":"archive"}}]',
        '--set-json',
        'global.extraVolumeMounts=[{"name":"archive","mountPath":"/srv/archive"}]',
        '--set-json',
        'components.ingest-api.extraVolumes=[{"name":"landing","persistentVolumeClaim":{"claimName":"landing"}}]',
        '--set-json',
        'components.ingest-api.extraVolumeMounts=[{"name":"landing","mountPath":"/srv/landing"}]',
        '--set',
        'global.tls.secretName=tributary-tls',
      ]);
      const loader = deployment(objs, 'loader').spec.template.spec;
      expect(loader.containers[0].image).toBe(`ghcr.io/tributary/loader:0.1.0@${digest}`);
      expect(loader.volumes).toContainEqual({ name: 'archive', persistentVolumeClaim: { claimName: 'archive' } });
      expect(loader.volumes).toContainEqual({ name: 'tls', secret: { secretName: 'tributary-tls' } });
      expect(loader.containers[0].volumeMounts).toContainEqual({ name: 'archive', mountPath: '/srv/archive' });
      expect(loader.containers[0].readinessProbe.httpGet.scheme).toBe('HTTPS');
      expect(env(deployment(objs, 'loader'))).toMatchObject({ HTTP_TLS_CERT_FILE: '/etc/tributary/tls/tls.crt' });
      const ingest = deployment(objs, 'ingest-api').spec.template.spec;
      expect(ingest.containers[0].volumeMounts).toContainEqual({ name: 'landing', mountPath: '/srv/landing' });
      expect(loader.volumes.map((v: any) => v.name)).not.toContain('landing');
      expect(allSchemaProblems(objs)).toEqual([]);
    });

    it('leaves a disabled component out entirely', () => {
      expect(objs().filter((o) => o.metadata.name === 't-tributary-monitor')).toEqual([]);
    });

    it('fails clearly on a patch to a path that does not exist', () => {
      const r = runTool('helm', [
        'template',
        't',
        CHART,
        '-f',
        path.join(CHART, 'ci/default-values.yaml'),
        '--set-json',
        'components.loader.patch=[{"op":"replace","path":"/spec/template/spec/nope/0","value":1}]',
      ]);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('/spec/template/spec/nope/0');
    });
  });

  it('comments every key of values.yaml', () => {
    const FREE_FORM = new Set(['labels', 'annotations', 'podAnnotations', 'env', 'files', 'merge']);
    const doc = parseDocument(readFileSync(path.join(CHART, 'values.yaml'), 'utf8'));
    const uncommented: string[] = [];
    const walk = (node: unknown, prefix: string): void => {
      if (!isMap(node)) return;
      node.items.forEach((item, i) => {
        const pair = item as Pair;
        const key = isScalar(pair.key) ? String(pair.key.value) : '?';
        const keyNode = pair.key as { commentBefore?: string | null };
        // A key's comment is the line(s) right above it (for the first key of a map, yaml puts it on the map).
        const comment = keyNode.commentBefore ?? (i === 0 ? (node as { commentBefore?: string | null }).commentBefore : undefined);
        if (!comment) uncommented.push(prefix + key);
        // The entries of free-form maps (labels, env, ...) are examples, documented by their key.
        if (isPair(pair) && isMap(pair.value) && !FREE_FORM.has(key)) walk(pair.value, `${prefix}${key}.`);
      });
    };
    walk(doc.contents, '');
    // Component keys repeat per component; their maps of resources/image are documented once by the key above them.
    expect(uncommented.filter((k) => !/\.(requests|limits|cpu|memory|repository|tag)$/.test(k))).toEqual([]);
  });
});
