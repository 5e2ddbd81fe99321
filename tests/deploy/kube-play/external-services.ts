/**
 * NATS and PostgreSQL outside the rendered objects, as an operator has them before installing
 * Tributary (the official NATS chart, a managed PostgreSQL): pods of the stand-in images in the
 * path's network namespace, answering on the standard ports of 127.0.0.1. A NATS cluster runs its
 * servers on 4222, 4223, ... (routes on 6222+, monitoring on 8222+): clients given the first learn
 * the others from it, as they would through a Service.
 */
import type { K8sObject } from '../manifests';

const restricted = (user: number) => ({
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] }, runAsUser: user, runAsGroup: user },
});

/** Objects for `nats` servers with `storage` of JetStream file store each, and (unless told) PostgreSQL with login tributary/tributary. */
export async function external(opts: { nats: number; storage: string; postgres?: boolean }): Promise<K8sObject[]> {
  const servers = Array.from({ length: opts.nats }, (_, i) => i);
  const routes = servers.map((i) => `nats://127.0.0.1:${6222 + i}`).join(', ');
  const conf = (i: number) => `server_name: nats-${i}
port: ${4222 + i}
http_port: ${8222 + i}
jetstream { store_dir: /data, max_file_store: ${opts.storage} }
${opts.nats > 1 ? `cluster { name: nats, port: ${6222 + i}, routes: [${routes}] }` : ''}
`;
  const objects: K8sObject[] = [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'external-nats' },
      data: Object.fromEntries(servers.map((i) => [`nats-${i}.conf`, conf(i)])),
    },
  ];
  for (const i of servers) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `nats-${i}` },
      spec: {
        containers: [
          {
            name: 'nats',
            image: 'docker.io/library/nats:2.10.29-alpine',
            args: ['--config', `/etc/nats/nats-${i}.conf`],
            ports: [{ name: 'monitor', containerPort: 8222 + i }],
            // A clustered server is ready once it has found the others.
            readinessProbe: { httpGet: { path: '/healthz?js-enabled-only=true', port: 8222 + i } },
            ...restricted(1000),
            volumeMounts: [
              { name: 'config', mountPath: '/etc/nats' },
              { name: 'data', mountPath: '/data' },
            ],
          },
        ],
        volumes: [
          { name: 'config', configMap: { name: 'external-nats' } },
          { name: 'data', persistentVolumeClaim: { claimName: `nats-${i}-data` } },
        ],
      },
    });
  }
  if (opts.postgres !== false) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'postgresql' },
      spec: {
        containers: [
          {
            name: 'postgresql',
            image: 'docker.io/library/postgres:16.6-bookworm',
            env: [
              { name: 'POSTGRES_USER', value: 'tributary' },
              { name: 'POSTGRES_PASSWORD', value: 'tributary' },
              { name: 'POSTGRES_DB', value: 'tributary' },
              { name: 'PGDATA', value: '/var/lib/postgresql/data/pgdata' },
            ],
            readinessProbe: { exec: { command: ['pg_isready', '-U', 'tributary', '-h', '127.0.0.1'] } },
            ...restricted(999),
            volumeMounts: [
              { name: 'data', mountPath: '/var/lib/postgresql/data' },
              { name: 'run', mountPath: '/var/run/postgresql' },
            ],
          },
        ],
        volumes: [
          { name: 'data', persistentVolumeClaim: { claimName: 'postgresql-data' } },
          { name: 'run', emptyDir: {} },
        ],
      },
    });
  }
  return objects;
}
