/**
 * Every documented install path, rendered by its real tool and run with Debian's `podman kube
 * play` in the order that tool applies it (kube-cluster.ts; what is translated for podman and why:
 * translate.ts): a record pushed to ingest-api lands in PostgreSQL on each path, and the example
 * pipelines run only where the path asks for them.
 *
 * | path                     | rendered by                                              | applied as | NATS, PostgreSQL                            |
 * | ------------------------ | -------------------------------------------------------- | ---------- | ------------------------------------------- |
 * | chart, its own           | docs/deploy.md's kind `helm install`, an orders folder    | helm       | the chart's (nats.dev, postgresql.dev)      |
 * | chart, external          | docs/deploy.md's EKS `helm upgrade`, the examples folder  | helm       | outside: 3-server NATS cluster, PostgreSQL  |
 * | kustomize dev            | kubectl kustomize k8s/overlays/dev (examples asked for)   | kubectl    | outside (nats, postgresql.tributary-dev)    |
 * | kustomize prod (Argo CD) | kubectl kustomize k8s/overlays/prod                       | argocd     | outside: 3-server NATS cluster, PostgreSQL  |
 * | Pulumi kind stack        | the program under mocks, its values through helm          | helm       | NATS chart stood in; the chart's PostgreSQL |
 *
 * Not run here (no API server, controllers or CRDs): HPAs, KEDA ScaledObjects, PDBs, network
 * policies, Prometheus Operator objects, Argo CD and Flux themselves. Their contracts are checked
 * on the rendered objects by chart.test.ts, kustomize.test.ts and infra/test (`npm test`).
 * Images: scripts/images (tag `test`, shared with tests/images), stand-ins for NATS and PostgreSQL.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadPipelines } from '@tributary/contract/spec';
import { tool } from '../k8s-tools';
import { parseManifests, type K8sObject } from '../manifests';
import { KubeCluster, type ApplyMode } from './kube-cluster';
import { external } from './external-services';
import { runProgram, TEST_SECRETS } from '../../../infra/test/run-program';

const ROOT = path.resolve(__dirname, '../../..');
const CHART = path.join(ROOT, 'charts/tributary');
const ORDERS = 'k8s/overlays/prod/pipelines';
/** sha256("test"): the API key of the development files. */
const API_KEYS = '[{"name":"dev","sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","pipelines":["*"]}]';
const HMAC = 'kube-play-hmac-key-0123456789';
const DB = 'postgres://tributary:tributary@127.0.0.1:5432/tributary';
const EXAMPLES = loadPipelines(path.join(ROOT, 'pipelines'))
  .map((p) => p.name)
  .sort();

jest.setTimeout(15 * 60_000);

/** Our images as scripts/images tags them; NATS and PostgreSQL by their stand-ins. */
function localImage(image: string): string {
  const ours = /\/(ingest-api|transformer|loader|monitor):/.exec(image);
  if (ours) return `localhost/tributary/${ours[1]}:test`;
  if (/(^|\/)nats:/.test(image)) return 'localhost/tributary/nats-standin:2.9';
  if (/(^|\/)postgres:/.test(image)) return 'localhost/tributary/postgres-standin:15';
  throw new Error(`no local image for ${image}`);
}

const helm = (release: string, namespace: string, args: string[]) =>
  parseManifests(tool('helm', ['template', release, CHART, '--namespace', namespace, ...args]));

/**
 * The `helm install` / `helm upgrade --install` command of a docs/deploy.md section, rendered with
 * `helm template` exactly as written (release, namespace, every flag), the pipeline folder the docs
 * call `my-pipelines/` being `folder`: the docs are what this test runs, so they cannot drift.
 */
function documentedHelm(section: string, folder: string): K8sObject[] {
  const doc = readFileSync(path.join(ROOT, 'docs/deploy.md'), 'utf8');
  const at = doc.indexOf(section);
  if (at < 0) throw new Error(`docs/deploy.md has no section '${section}'`);
  const block = /```sh\n([\s\S]*?)```/.exec(doc.slice(at))?.[1] ?? '';
  const line = block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .find((l) => /^helm (install|upgrade --install) \S+ charts\/tributary /.test(l));
  if (!line) throw new Error(`no helm install command under '${section}' in docs/deploy.md`);
  const words = line.trim().split(/\s+/);
  const [release, chart, ...rest] = words.slice(words[1] === 'upgrade' ? 3 : 2);
  expect(chart).toBe('charts/tributary');
  const args: string[] = [];
  let namespace = 'default';
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === '-n' || w === '--namespace') namespace = rest[++i]!;
    else if (w === '<(scripts/pipelines-values' && rest[i + 1] === 'my-pipelines/)') {
      args.push(folderValues(folder));
      i++;
    } else if (/^[-\w.=/,:@]+$/.test(w)) args.push(w.startsWith('charts/') ? path.join(ROOT, w) : w);
    else throw new Error(`docs/deploy.md '${section}': '${w}' is not a plain helm argument this test can run`);
  }
  return helm(release!, namespace, args);
}

/** Helm values of a pipeline folder, written by the documented script. */
function folderValues(folder: string): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'pipelines-values-')), 'values.json');
  writeFileSync(file, execFileSync(path.join(ROOT, 'scripts/pipelines-values'), [path.join(ROOT, folder)]));
  return file;
}

const secret = (name: string, data: Record<string, string>): K8sObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});

interface Path {
  name: string;
  mode: ApplyMode;
  /** Objects the operator has before the install (external NATS/PostgreSQL, out-of-band Secrets). */
  before: () => Promise<K8sObject[]> | K8sObject[];
  /** Host names of those, standing for Services on 127.0.0.1. */
  externalHosts: string[];
  objects: () => Promise<K8sObject[]> | K8sObject[];
  /** Pipeline, source, record, table and key column of the pushed record. */
  push: { pipeline: string; source: string; record: Record<string, unknown>; table: string; key: string };
  /** Pipelines that must be running (and no others). */
  pipelines: string[];
  apiKey?: string;
  /** The warehouse as seen from inside the namespace (default: login tributary/tributary). */
  db?: string;
}

const order = (id: string) => ({
  pipeline: 'orders',
  source: 'shop',
  record: { order_id: id, customer_id: 'c1', total: 12.5, status: 'paid', updated_at: '2026-01-01T00:00:00Z' },
  table: 'fact_order',
  key: 'order_id',
});
const passage = (id: string) => ({
  pipeline: 'traffic',
  source: 'gantry',
  record: { event_id: id, gantry_id: 'G001', plate: 'AB12', speed_mph: 50, lane: 1, passengers: 1, observed_at: '2026-01-01T00:00:00Z' },
  table: 'fact_passage',
  key: 'event_id',
});

const PATHS: Path[] = [
  {
    // docs/deploy.md, kind with Helm: the chart's own NATS and PostgreSQL, a pipeline folder.
    name: 'chart-own',
    mode: 'helm',
    before: () => [],
    externalHosts: [],
    objects: () => documentedHelm('**kind with Helm**', ORDERS),
    push: order('own-1'),
    pipelines: ['orders'],
    apiKey: 'test',
  },
  {
    // docs/deploy.md, EKS (or any cluster) with Helm: the official NATS chart (a 3-server cluster,
    // monitoring on its headless Service), an existing PostgreSQL, Secrets made out of band, KEDA
    // and the Prometheus Operator. The folder shipped is the examples' own (pipelines/), so every
    // example runs, asked for by shipping it.
    name: 'chart-ext',
    mode: 'helm',
    before: async () => [
      ...(await external({ nats: 3, storage: '10GB' })),
      secret('warehouse-db', { url: 'postgres://tributary:tributary@postgresql.data:5432/tributary' }),
      secret('tributary-hmac', { 'hmac-key': HMAC }),
      secret('tributary-api-keys', { 'api-keys.json': API_KEYS }),
    ],
    externalHosts: ['nats', 'nats-headless', 'postgresql'],
    objects: () => documentedHelm('**EKS (or any cluster) with Helm**', 'pipelines'),
    push: passage('ext-1'),
    pipelines: EXAMPLES,
    apiKey: 'test',
  },
  {
    name: 'kust-dev',
    mode: 'kubectl',
    before: () => external({ nats: 1, storage: '1GB' }),
    externalHosts: ['nats', 'postgresql'],
    objects: () => parseManifests(tool('kubectl', ['kustomize', path.join(ROOT, 'k8s/overlays/dev')])),
    push: passage('dev-1'),
    pipelines: EXAMPLES,
    apiKey: 'test',
  },
  {
    name: 'kust-prod',
    mode: 'argocd',
    // Secrets made out of band (External Secrets, kubectl), as the overlay expects.
    before: async () => [
      ...(await external({ nats: 3, storage: '10GB' })),
      secret('tributary-database', { 'database-url': 'postgres://tributary:tributary@postgresql.data:5432/tributary' }),
      secret('tributary-hmac', { 'hmac-key': HMAC }),
      secret('tributary-api-keys', { 'api-keys.json': API_KEYS }),
    ],
    externalHosts: ['nats', 'nats-headless', 'postgresql', 'otel-collector'],
    objects: () => parseManifests(tool('kubectl', ['kustomize', path.join(ROOT, 'k8s/overlays/prod')])),
    push: order('prod-1'),
    pipelines: ['orders'],
    apiKey: 'test',
  },
  {
    name: 'pulumi-kind',
    mode: 'helm',
    before: async () => {
      const { stack } = await pulumiKind();
      // The official NATS chart with the stack's values: its server stood in, max_file_store as configured.
      return [...(await external({ nats: 1, storage: stack.natsStorage, postgres: false })), stack.secret];
    },
    // The Secret Pulumi makes names the chart's PostgreSQL Service before the chart renders it.
    externalHosts: ['nats', 'nats-headless', 'tributary-postgresql'],
    objects: async () => (await pulumiKind()).objects,
    db: `postgres://tributary:${TEST_SECRETS.kind!['tributary:postgresPassword']}@127.0.0.1:5432/tributary`,
    push: order('pulumi-1'),
    pipelines: ['orders'],
  },
];

let pulumiCache: Promise<{ stack: { natsStorage: string; secret: K8sObject }; objects: K8sObject[] }> | undefined;
/** The kind stack under Pulumi's mocks: the Tributary release rendered with its values, the Secret it creates, its NATS storage. */
function pulumiKind() {
  pulumiCache ??= (async () => {
    const resources = await runProgram('kind');
    const release = resources.find((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.inputs.name === 'tributary')!;
    const nats = resources.find((r) => r.type === 'kubernetes:helm.sh/v3:Release' && r.inputs.name === 'nats')!;
    const s = resources.find((r) => r.type === 'kubernetes:core/v1:Secret' && r.inputs.metadata.name === 'tributary-secrets')!;
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pulumi-values-')), 'values.json');
    writeFileSync(file, JSON.stringify(release.inputs.values));
    const objects = parseManifests(tool('helm', ['template', 'tributary', release.inputs.chart, '--namespace', 'tributary', '-f', file]));
    const data = s.inputs.stringData.value ?? s.inputs.stringData; // unwrap Pulumi's secret envelope
    return {
      stack: { natsStorage: nats.inputs.values.config.jetstream.fileStore.maxSize, secret: secret('tributary-secrets', data) },
      objects,
    };
  })();
  return pulumiCache;
}

beforeAll(() => {
  // The images tests/images builds (same tag): in one `npm run test:slow` the second build is
  // podman's layer cache only (about a minute), plus the NATS and PostgreSQL stand-ins.
  const started = Date.now();
  execFileSync(path.join(ROOT, 'scripts/images'), ['--tag', 'test', '--stand-ins'], { cwd: ROOT, stdio: 'inherit', timeout: 25 * 60_000 });
  process.stdout.write(`images ready in ${Math.round((Date.now() - started) / 1000)} s\n`);
});

describe.each(PATHS)('install path $name', (p) => {
  const cluster = new KubeCluster({
    name: p.name,
    images: localImage,
    externalHosts: p.externalHosts,
    dir: mkdtempSync(path.join(tmpdir(), `kube-play-${p.name}-`)),
  });
  afterAll(async () => {
    const started = Date.now();
    await cluster.stop();
    process.stdout.write(`${p.name}: torn down in ${Math.round((Date.now() - started) / 1000)} s\n`);
  });

  it('installs in order, lands a pushed record in PostgreSQL, and runs exactly the pipelines it asks for', async () => {
    const started = Date.now();
    await cluster.start();
    try {
      await cluster.apply(await p.before(), 'kubectl');
      await cluster.apply(await p.objects(), p.mode);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nevents: ${cluster.events.join(', ')}`);
    }
    const { pipeline, source, record, table, key } = p.push;
    const headers: Record<string, string> = { 'content-type': 'application/x-ndjson', 'idempotency-key': `kube-play-${p.name}` };
    if (p.apiKey) headers.authorization = `Bearer ${p.apiKey}`;
    const [status, body] = await cluster.http(`http://127.0.0.1:8081/v1/pipelines/${pipeline}/sources/${source}/records`, {
      method: 'POST',
      headers,
      body: JSON.stringify(record),
    });
    expect({ status, body: JSON.parse(body) }).toMatchObject({ status: 202, body: { accepted: 1, rejected: 0 } });

    let rows: string[][] = [];
    for (const until = Date.now() + 90_000; rows.length === 0 && Date.now() < until; await new Promise((r) => setTimeout(r, 1_000))) {
      rows = await cluster.sql(p.db ?? DB, `select ${key} from warehouse.${table} where ${key} = '${String(record[key])}'`).catch(() => []);
    }
    if (rows.length === 0) process.stdout.write(await cluster.allLogs());
    expect(rows).toEqual([[String(record[key])]]);

    // The monitor reports the pipelines the services loaded: the examples only where asked for.
    const [, pipelines] = await cluster.http('http://127.0.0.1:8080/api/pipelines');
    const list = (JSON.parse(pipelines) as { pipelines: { name: string }[] }).pipelines.map((x) => x.name).sort();
    expect(list).toEqual(p.pipelines);
    process.stdout.write(
      `${p.name}: ${Math.round((Date.now() - started) / 1000)} s; applied ${cluster.events.join(', ')}; not run by podman: ${cluster.skipped.join(', ') || 'none'}\n`,
    );
  });
});
