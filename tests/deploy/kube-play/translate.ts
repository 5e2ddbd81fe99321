/**
 * What the install-path runs translate before `podman kube play` (Debian's podman 4.3) gets the
 * rendered objects, and why. Everything else goes to podman as rendered.
 *
 * - Services: podman has no Services and no cluster DNS. Every path runs in a network namespace
 *   of its own in which every pod uses the namespace's network (hostNetwork), so a Service is its
 *   pods' port on 127.0.0.1: a Service host name (`nats`, `t-tributary-nats`,
 *   `nats.tributary-dev`, `postgresql.data.svc.cluster.local`) in an env value, a ConfigMap or a
 *   Secret becomes 127.0.0.1, the port stays.
 * - Deployment, StatefulSet, Job: podman 4.3 plays Pods and Deployments only, so each workload
 *   becomes one Pod of its template (one replica: what is proven is that the objects work, not
 *   how many copies run). A Job's pod is re-run by the runner on failure, up to backoffLimit
 *   (podman has no Job controller); a StatefulSet's volumeClaimTemplates become podman volumes.
 * - ConfigMap and Secret volumes: podman 4.3 panics on a Secret volume and cannot place a
 *   ConfigMap item in a subfolder (`schemas/passage.json`), so the runner writes each such volume
 *   as a folder, items at their paths (binaryData decoded), mounted by hostPath. The ConfigMaps
 *   given to `kube play` beside a pod (for `configMapRef` env) leave out binaryData, which
 *   podman 4.3 cannot read and no env variable can hold.
 * - Secrets referenced by env: podman 4.3 reads `secretKeyRef` from a podman secret holding the
 *   Secret's `data` as JSON; the runner creates those (`podman secret create`).
 * - Images: nothing can be pulled here. Our images are the ones scripts/images builds; the NATS and
 *   PostgreSQL images the chart names are replaced by the stand-ins of
 *   deploy/images/standins.Containerfile (same entrypoint contract, Debian's packages).
 * - init containers: podman 4.3 does not wait for one that runs longer than a moment (it tries to
 *   remove it while it runs, and the play fails); the runner runs them as a pod of their own to
 *   completion first, then the pod without them (kube-cluster.ts, initPod).
 * - env from fieldRef metadata.namespace: podman 4.3 refuses it (metadata.name works); the
 *   object's namespace is written in as a value.
 * - preStop hooks are dropped (podman 4.3 ignores them at stop); probes are kept in the pod and
 *   evaluated by the runner (readiness gates the next step the way Kubernetes would).
 * - emptyDir volumes: podman 4.3 creates them root-owned (0755) and ignores fsGroup, so a
 *   non-root container (PostgreSQL's socket folder) cannot write them; each is a fresh folder
 *   with mode 1777 instead.
 * - containerPorts are dropped: podman makes port mappings of them, which host networking
 *   refuses; named probe ports become their numbers first.
 */
import type { K8sObject } from '../manifests';

/** A workload as one pod: its manifest for `podman kube play`, and where its config folders go. */
export interface PlayPod {
  /** The workload's kind and name. */
  owner: string;
  /** Pod name in podman. */
  name: string;
  /** The Pod manifest. */
  pod: K8sObject;
  /** Folders to write before playing: path -> files (relative path -> bytes). */
  folders: Map<string, Map<string, Buffer>>;
  /** Podman volumes the pod claims (StatefulSet volumeClaimTemplates, PVCs). */
  volumes: string[];
  /** Folders standing in for emptyDir volumes (mode 1777). */
  emptyDirs: string[];
  /** Job retries (backoffLimit); undefined for long-running workloads. */
  backoffLimit?: number;
}

/** Replaces Service host names (followed by `.namespace[.svc[.cluster.local]]` and a port) by 127.0.0.1. */
export function localHosts(text: string, hosts: string[]): string {
  let out = text;
  for (const h of [...hosts].sort((a, b) => b.length - a.length)) {
    const re = new RegExp(
      `(^|[/@,])${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[a-z0-9-]+)?(\\.svc(\\.cluster\\.local)?)?(?=:\\d)`,
      'g',
    );
    out = out.replace(re, '$1127.0.0.1');
  }
  return out;
}

/** ConfigMap or Secret data as bytes by key (Secret data and binaryData are base64). */
export function dataOf(o: K8sObject): Map<string, Buffer> {
  const m = new Map<string, Buffer>();
  const b64 = o.kind === 'Secret';
  for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) m.set(k, b64 ? Buffer.from(v, 'base64') : Buffer.from(v));
  for (const [k, v] of Object.entries(((o as any).stringData ?? {}) as Record<string, string>)) m.set(k, Buffer.from(v));
  for (const [k, v] of Object.entries(((o as any).binaryData ?? {}) as Record<string, string>)) m.set(k, Buffer.from(v, 'base64'));
  return m;
}

/** The objects with Service host names replaced in ConfigMap and Secret data and in env values. */
export function localiseObjects(objects: K8sObject[], hosts: string[]): K8sObject[] {
  return objects.map((o) => {
    const c = structuredClone(o) as any;
    if (c.kind === 'ConfigMap' || c.kind === 'Secret') {
      const data: Record<string, string> = {};
      const binaryData: Record<string, string> = {};
      for (const [k, v] of dataOf(c)) {
        const text = v.toString('utf8');
        const utf8 = Buffer.from(text, 'utf8').equals(v);
        const local = utf8 ? Buffer.from(localHosts(text, hosts)) : v;
        // A ConfigMap's binary files (a model) stay base64 in binaryData: as text they would carry control characters.
        if (c.kind === 'Secret') data[k] = local.toString('base64');
        else if (utf8) data[k] = local.toString('utf8');
        else binaryData[k] = v.toString('base64');
      }
      c.data = data;
      delete c.stringData;
      if (c.kind === 'ConfigMap') {
        if (Object.keys(binaryData).length) c.binaryData = binaryData;
        else delete c.binaryData;
      }
    }
    for (const container of podSpec(c)?.containers ?? []) localiseEnv(container, hosts);
    for (const container of podSpec(c)?.initContainers ?? []) localiseEnv(container, hosts);
    return c;
  });
}

function localiseEnv(container: any, hosts: string[]): void {
  for (const e of container.env ?? []) if (typeof e.value === 'string') e.value = localHosts(e.value, hosts);
}

function podSpec(o: any): any {
  return o.kind === 'Pod' ? o.spec : o.spec?.template?.spec;
}

/** One Pod for a Deployment, StatefulSet or Job; `images` renames images, `configs` are the ConfigMaps and Secrets by kind/name. */
export function toPlayPod(
  o: K8sObject,
  opts: { images: (image: string) => string; configs: Map<string, K8sObject>; dir: string; suffix: string },
): PlayPod {
  const spec = structuredClone(podSpec(o));
  const name = `${o.metadata.name}-${opts.suffix}`;
  const folders = new Map<string, Map<string, Buffer>>();
  const volumes: string[] = [];
  const emptyDirs: string[] = [];
  spec.hostNetwork = true;
  spec.restartPolicy = o.kind === 'Job' ? 'Never' : 'Always';
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    c.image = opts.images(c.image);
    delete c.lifecycle;
    // Podman 4.3 resolves fieldRef metadata.name only: the namespace is written in.
    for (const e of c.env ?? []) {
      if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') {
        delete e.valueFrom;
        e.value = o.metadata.namespace ?? 'default';
      }
    }
    // Podman turns containerPorts into port mappings, which host networking refuses: probes get
    // the port numbers, the ports go (every port is the namespace's own anyway).
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      if (typeof probe?.httpGet?.port === 'string')
        probe.httpGet.port = c.ports.find((x: { name: string }) => x.name === probe.httpGet.port).containerPort;
    }
    delete c.ports;
  }
  spec.volumes = (spec.volumes ?? []).map((v: any) => {
    if (v.emptyDir) {
      // Podman 4.3 makes an emptyDir root's (0755) and ignores fsGroup: a fresh folder anyone may write.
      const folder = `${opts.dir}/${name}-${v.name}`;
      emptyDirs.push(folder);
      return { name: v.name, hostPath: { path: folder, type: 'Directory' } };
    }
    if (v.persistentVolumeClaim) {
      // A podman volume per path, removed with it.
      const claim = `${v.persistentVolumeClaim.claimName}-${opts.suffix}`;
      volumes.push(claim);
      return { name: v.name, persistentVolumeClaim: { claimName: claim } };
    }
    const source = v.configMap
      ? ['ConfigMap', v.configMap.name, v.configMap.items]
      : v.secret
        ? ['Secret', v.secret.secretName, v.secret.items]
        : undefined;
    if (!source) return v;
    const [kind, ref, items] = source as [string, string, { key: string; path: string }[] | undefined];
    const obj = opts.configs.get(`${kind}/${ref}`);
    if (!obj) throw new Error(`${o.kind} ${o.metadata.name} mounts ${kind} ${ref}, which the path does not create`);
    const data = dataOf(obj);
    const files = new Map<string, Buffer>();
    for (const { key, path } of items ?? [...data.keys()].map((k) => ({ key: k, path: k }))) {
      const bytes = data.get(key);
      if (!bytes) throw new Error(`${kind} ${ref} has no key ${key}`);
      files.set(path, bytes);
    }
    const folder = `${opts.dir}/${name}-${v.name}`;
    folders.set(folder, files);
    return { name: v.name, hostPath: { path: folder, type: 'Directory' } };
  });
  for (const t of o.kind === 'StatefulSet' ? ((o.spec as any).volumeClaimTemplates ?? []) : []) {
    const claim = `${name}-${t.metadata.name}`;
    volumes.push(claim);
    spec.volumes.push({ name: t.metadata.name, persistentVolumeClaim: { claimName: claim } });
  }
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: (o.kind === 'Pod' ? o.metadata.labels : (o.spec as any).template?.metadata?.labels) ?? {} },
    spec,
  } as unknown as K8sObject;
  return {
    owner: `${o.kind}/${o.metadata.name}`,
    name,
    pod,
    folders,
    volumes,
    emptyDirs,
    backoffLimit: o.kind === 'Job' ? ((o.spec as any).backoffLimit ?? 6) : undefined,
  };
}
