/**
 * A stand-in cluster for one install path: a network namespace of its own (made with `ip netns`,
 * only its loopback inside), podman run inside it through `nsenter --net`, and rendered objects
 * applied in the order the documented tool applies them:
 * - `helm`: pre-install hooks by weight (each Job run to completion), then every other object at
 *   once (Helm does not wait), then post-install hooks;
 * - `argocd`: PreSync hooks, then sync waves, each wave healthy before the next, then PostSync;
 * - `kubectl`: everything at once (`kubectl apply -k`).
 * Objects podman cannot run (HPA, PDB, NetworkPolicy, ScaledObject, ServiceMonitor, ...) are listed
 * in `skipped`: their contract with the real controller is checked by the render tests. See
 * translate.ts for what is translated and why.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import type { K8sObject } from '../manifests';
import { localiseObjects, toPlayPod, type PlayPod } from './translate';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
const PODMAN_ENV = { ...process.env, CONTAINERS_CONF: path.join(ROOT, 'deploy/podman/containers.conf') };
/** Workloads in Helm's install order (kubectl and Argo CD waves send them together too). */
const WORKLOADS = ['Pod', 'Deployment', 'StatefulSet', 'Job'];
const CONFIG = ['ConfigMap', 'Secret', 'ServiceAccount', 'Service', 'PersistentVolumeClaim'];

/** How objects are applied: by Helm, by Argo CD, or by `kubectl apply`. */
export type ApplyMode = 'helm' | 'argocd' | 'kubectl';

/** Options of a stand-in cluster. */
export interface ClusterOptions {
  /** Short name of the path (pod and namespace names). */
  name: string;
  /** Image renames: rendered image -> local image. */
  images: (image: string) => string;
  /** Host names outside the rendered objects that stand for Services on 127.0.0.1 (external NATS, PostgreSQL). */
  externalHosts?: string[];
  /** Folder for logs and config folders. */
  dir: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One install path's network namespace, pods, volumes and secrets; `stop()` removes them all. */
export class KubeCluster {
  readonly netns: string;
  readonly skipped: string[] = [];
  readonly events: string[] = [];
  private readonly pods: PlayPod[] = [];
  private readonly secrets: string[] = [];
  /** ConfigMaps and Secrets applied so far, by kind/name: an API server keeps them for later applies. */
  private readonly configs = new Map<string, K8sObject>();
  private hosts: string[] = [];

  constructor(private readonly opts: ClusterOptions) {
    this.netns = `trib-${opts.name}-${process.pid}`;
  }

  /** Makes the network namespace. */
  async start(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    await run('ip', ['netns', 'add', this.netns]);
    await run('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
  }

  /** Runs a command inside the namespace's network. */
  async exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
    return (await run('nsenter', [`--net=/run/netns/${this.netns}`, cmd, ...args], { env, maxBuffer: 32 * 1024 * 1024 })).stdout;
  }

  /** podman inside the namespace. */
  podman(args: string[]): Promise<string> {
    return this.exec('podman', args, PODMAN_ENV);
  }

  /** An HTTP request from inside the namespace (curl); resolves with [status, body]. */
  async http(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<[number, string]> {
    const args = ['-s', '-m', '10', '-o', '-', '-w', '\n%{http_code}', '-X', opts.method ?? 'GET'];
    for (const [k, v] of Object.entries(opts.headers ?? {})) args.push('-H', `${k}: ${v}`);
    if (opts.body !== undefined) args.push('--data-binary', opts.body);
    const out = await this.exec('curl', [...args, url]).catch((err: { stdout?: string }) => err.stdout ?? '\n0');
    const i = out.lastIndexOf('\n');
    return [Number(out.slice(i + 1)), out.slice(0, i)];
  }

  /** A query through psql from inside the namespace; rows as arrays of strings. */
  async sql(url: string, query: string): Promise<string[][]> {
    const out = await this.exec('psql', [url, '-AtF', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query]);
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
  }

  /** Applies `objects` the way `mode` does; resolves once every workload is ready (and every Job done). */
  async apply(objects: K8sObject[], mode: ApplyMode, timeoutMs = 240_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const services = objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name);
    this.hosts = [...new Set([...services, ...(this.opts.externalHosts ?? [])])];
    const local = localiseObjects(objects, this.hosts);
    for (const o of local) if (o.kind === 'ConfigMap' || o.kind === 'Secret') this.configs.set(`${o.kind}/${o.metadata.name}`, o);
    for (const o of local) if (!WORKLOADS.includes(o.kind) && !CONFIG.includes(o.kind)) this.skipped.push(`${o.kind}/${o.metadata.name}`);
    const ann = (o: K8sObject, k: string) => o.metadata.annotations?.[k] ?? '';
    const hookOf = (o: K8sObject) =>
      mode === 'helm'
        ? ann(o, 'helm.sh/hook')
        : mode === 'argocd'
          ? ann(o, 'argocd.argoproj.io/hook') || helmAsArgo(ann(o, 'helm.sh/hook'))
          : '';
    const weight = (o: K8sObject) => Number(ann(o, mode === 'helm' ? 'helm.sh/hook-weight' : 'argocd.argoproj.io/sync-wave') || 0);
    const pre = local.filter((o) => /pre-install|PreSync/.test(hookOf(o))).sort((a, b) => weight(a) - weight(b));
    const post = local.filter((o) => /post-install|PostSync/.test(hookOf(o))).sort((a, b) => weight(a) - weight(b));
    const plain = local.filter((o) => !hookOf(o));
    // Hooks one at a time (Helm and Argo CD wait for each hook Job); config objects of the release come first.
    for (const o of pre) await this.applyGroup([o], deadline);
    if (mode === 'argocd') {
      const waves = [...new Set(plain.map((o) => Number(ann(o, 'argocd.argoproj.io/sync-wave') || 0)))].sort((a, b) => a - b);
      for (const w of waves)
        await this.applyGroup(
          plain.filter((o) => Number(ann(o, 'argocd.argoproj.io/sync-wave') || 0) === w),
          deadline,
        );
    } else await this.applyGroup(plain, deadline);
    for (const o of post) await this.applyGroup([o], deadline);
  }

  /** Plays the workloads of `group` together and waits until they are ready or done. */
  private async applyGroup(group: K8sObject[], deadline: number): Promise<void> {
    // What pods of this group may mount or read: every ConfigMap and Secret applied so far (those
    // the operator made before the install included), as the API server has them.
    const configs = this.configs;
    const pods = group
      .filter((o) => WORKLOADS.includes(o.kind))
      .sort((a, b) => WORKLOADS.indexOf(a.kind) - WORKLOADS.indexOf(b.kind))
      .map((o) => toPlayPod(o, { images: this.opts.images, configs, dir: this.opts.dir, suffix: this.opts.name }));
    // For env (configMapRef) only: volumes are folders (translate.ts), binaryData is no env value.
    const configMaps = [...configs.values()]
      .filter((o) => o.kind === 'ConfigMap')
      .map(({ binaryData: _binary, ...o }: K8sObject & { binaryData?: unknown }) => o as K8sObject);
    // Secrets the workloads read by env must exist as podman secrets even when applied in another group.
    for (const s of [...configs.values()].filter((o) => o.kind === 'Secret')) await this.createSecret(s);
    // Played together: `kube play` returns only once a pod's init containers are done, and those
    // wait for migrate, which may be in this same group (as with `kubectl apply` and Helm).
    this.events.push(...pods.map((p) => `play ${p.owner}`));
    await Promise.all(
      pods.map(async (p) => {
        const init = initPod(p);
        if (init) {
          await this.play(init, configMaps);
          await this.waitJob(init, configMaps, deadline);
        }
        await this.play(p, configMaps);
        await (p.backoffLimit === undefined ? this.waitReady(p, deadline) : this.waitJob(p, configMaps, deadline));
      }),
    );
  }

  private async createSecret(s: K8sObject): Promise<void> {
    const name = s.metadata.name;
    if (this.secrets.includes(name)) return;
    this.secrets.push(name);
    const file = path.join(this.opts.dir, `secret-${name}.json`);
    writeFileSync(file, JSON.stringify(s.data ?? {}));
    await this.podman(['secret', 'rm', name]).catch(() => undefined);
    await this.podman(['secret', 'create', name, file]);
  }

  private async play(p: PlayPod, configMaps: K8sObject[]): Promise<void> {
    for (const folder of p.emptyDirs) {
      rmSync(folder, { recursive: true, force: true });
      mkdirSync(folder, { recursive: true });
      chmodSync(folder, 0o1777);
    }
    for (const [folder, files] of p.folders) {
      rmSync(folder, { recursive: true, force: true });
      for (const [rel, bytes] of files) {
        mkdirSync(path.dirname(path.join(folder, rel)), { recursive: true });
        writeFileSync(path.join(folder, rel), bytes, { mode: 0o644 });
      }
    }
    const file = path.join(this.opts.dir, `${p.name}.yaml`);
    writeFileSync(file, [...configMaps, p.pod].map((o) => stringify(o)).join('---\n'));
    if (!this.pods.includes(p)) this.pods.push(p);
    await this.podman(['kube', 'play', '--quiet', '--replace', file]);
  }

  /** Containers of a pod as podman names them (`<pod>-<container>`). */
  private containers(p: PlayPod): string[] {
    return (p.pod.spec.containers as { name: string }[]).map((c) => `${p.name}-${c.name}`);
  }

  private async waitJob(p: PlayPod, configMaps: K8sObject[], deadline: number): Promise<void> {
    const [container] = this.containers(p);
    for (let attempt = 0; ;) {
      const [status, code] = (await this.podman(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', container!]))
        .trim()
        .split(' ');
      if (status === 'exited' && code === '0') return void this.events.push(`${p.owner} completed`);
      if (status === 'exited') {
        this.events.push(`${p.owner} failed (exit ${code}), attempt ${attempt + 1}`);
        if (++attempt > p.backoffLimit!) throw new Error(`${p.owner} failed ${attempt} times:\n${await this.logs(p)}`);
        // Kubernetes backs off 10 s, doubling; shortened here (the run proves order, not timing).
        await sleep(1_000 * 2 ** attempt);
        await this.play(p, configMaps);
      }
      if (Date.now() > deadline) throw new Error(`${p.owner} did not finish:\n${await this.logs(p)}`);
      await sleep(500);
    }
  }

  private async waitReady(p: PlayPod, deadline: number): Promise<void> {
    for (;;) {
      if (await this.ready(p)) return void this.events.push(`${p.owner} ready`);
      if (Date.now() > deadline) throw new Error(`${p.owner} not ready:\n${await this.logs(p)}`);
      await sleep(1_000);
    }
  }

  /** Evaluates each container's readiness probe (httpGet or exec) as the kubelet would. */
  private async ready(p: PlayPod): Promise<boolean> {
    for (const c of p.pod.spec.containers as any[]) {
      const probe = c.readinessProbe;
      if (!probe) continue;
      if (probe.httpGet) {
        const [status] = await this.http(
          `${(probe.httpGet.scheme ?? 'HTTP').toLowerCase()}://127.0.0.1:${probe.httpGet.port}${probe.httpGet.path}`,
        );
        if (status < 200 || status >= 400) return false;
      } else if (probe.exec) {
        const ok = await this.podman(['exec', `${p.name}-${c.name}`, ...probe.exec.command]).then(
          () => true,
          (e: Error) => (process.env.KUBE_PLAY_DEBUG ? (console.log(e.message), false) : false),
        );
        if (!ok) return false;
      }
    }
    return true;
  }

  /** The last lines of every container of a pod (init containers included while they exist). */
  async logs(p: PlayPod): Promise<string> {
    const out: string[] = [];
    for (const c of [...(p.pod.spec.initContainers ?? []), ...p.pod.spec.containers] as { name: string }[]) {
      const text = await this.podman(['logs', '--tail', '30', `${p.name}-${c.name}`]).catch((e: Error) => e.message);
      out.push(`--- ${p.name}-${c.name}\n${text}`);
    }
    return out.join('\n');
  }

  /** Logs of every pod, for a failure report. */
  async allLogs(): Promise<string> {
    return (await Promise.all(this.pods.map((p) => this.logs(p)))).join('\n');
  }

  /** Removes pods, volumes, secrets and the namespace. */
  async stop(): Promise<void> {
    // Torn down at once, no grace period (the path is proven; its shutdown is not what is tested):
    // one podman call per kind of thing instead of one per pod, five seconds each.
    const pods = [...new Set(this.pods.map((p) => p.name))];
    const volumes = [...new Set(this.pods.flatMap((p) => p.volumes))];
    if (pods.length) await this.podman(['pod', 'rm', '-f', '-t', '0', ...pods]).catch(() => undefined);
    if (volumes.length) await this.podman(['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
    if (this.secrets.length) await this.podman(['secret', 'rm', ...this.secrets]).catch(() => undefined);
    await run('ip', ['netns', 'del', this.netns]).catch(() => undefined);
  }
}

/**
 * A pod's init containers as a pod of their own, run to completion before the pod (as the kubelet
 * does): podman 4.3 does not wait for an init container that runs longer than a moment (it tries
 * to remove it while it runs and fails the play), and `wait-for-migrate` runs until migrate is done.
 * The pod itself then plays without them.
 */
function initPod(p: PlayPod): PlayPod | undefined {
  const spec = p.pod.spec;
  if (!spec.initContainers?.length) return undefined;
  const { initContainers, ...rest } = spec;
  p.pod = { ...p.pod, spec: rest };
  const name = `${p.name}-init`;
  return {
    ...p,
    owner: `${p.owner} init`,
    name,
    pod: { ...p.pod, metadata: { ...p.pod.metadata, name }, spec: { ...rest, containers: initContainers, restartPolicy: 'Never' } },
    volumes: [],
    backoffLimit: 0,
  };
}

/** Argo CD runs a chart's Helm hooks as its own: pre-install/pre-upgrade as PreSync, post-* as PostSync. */
function helmAsArgo(hook: string): string {
  if (/pre-install|pre-upgrade/.test(hook)) return 'PreSync';
  if (/post-install|post-upgrade/.test(hook)) return 'PostSync';
  return '';
}
