/**
 * TributaryStack: NATS with JetStream (the official chart), PostgreSQL (the Tributary chart's own
 * for development clusters, or an existing server by URL) and the Tributary chart of this
 * repository, wired together in one namespace. Secrets travel as Pulumi secrets into a Kubernetes Secret that the chart references
 * (`postgresql.existingSecret`), never as chart values.
 */
import path from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';

/** The four services, each scaled on its own. */
export const SERVICES = ['ingest-api', 'transformer', 'loader', 'monitor'] as const;
/** A Tributary service. */
export type Service = (typeof SERVICES)[number];

/** How one service scales: a fixed count, an HPA on CPU, or KEDA on its consumer lag (transformer, loader). */
export type Scaling = { mode: 'none'; replicas: number } | { mode: 'hpa' | 'keda'; minReplicas: number; maxReplicas: number };

/** Where PostgreSQL comes from: the Tributary chart's own (`postgresql.dev`, development clusters), or an existing server. */
export type PostgresSource =
  { kind: 'chart'; storage: string; password: pulumi.Input<string> } | { kind: 'external'; url: pulumi.Input<string> };

/** Arguments of TributaryStack. */
export interface TributaryStackArgs {
  /** Namespace of everything (created). */
  namespace: string;
  /** Version of the official NATS chart (nats-io/k8s). */
  natsChartVersion: string;
  /** NATS servers in the JetStream cluster (1 for kind, 3 for production). */
  natsReplicas: number;
  /** Size of each NATS server's JetStream file store. */
  natsStorage: string;
  /** Replicas of every stream and KV bucket; 3 on a cluster of 3 or more servers, else 1, unless told. */
  streamReplicas?: number;
  /** PostgreSQL from the Bitnami chart, or an existing server. */
  postgres: PostgresSource;
  /** Key of `$hmac()` (a Pulumi secret). */
  hmacKey: pulumi.Input<string>;
  /** Image registry and repository prefix (`ghcr.io/tributary`; empty registry for images loaded into kind). */
  image: { registry: string; repository: string; tag: string; pullPolicy: 'Always' | 'IfNotPresent' | 'Never' };
  /** Scaling of each service. */
  scaling: Record<Service, Scaling>;
  /** Pipelines whose consumers KEDA watches (the `pipeline:` names). */
  pipelines: string[];
  /** The pipeline folder shipped into the cluster (scripts/pipelines-values: every file, one ConfigMap). */
  pipelinesDir: string;
  /** Create ServiceMonitor, PrometheusRule and the dashboard (needs the Prometheus Operator). */
  monitoring: boolean;
  /** Existing Secret with the ingest API key hashes (key api-keys.json); none leaves ingest open (the kind stack). */
  apiKeysSecret?: string;
  /** Extra values for the Tributary chart, merged last. */
  chartValues?: Record<string, unknown>;
}

/** Path of the chart in this repository. */
export const CHART_PATH = path.resolve(__dirname, '../../charts/tributary');

/** The files of a pipeline folder as chart values, read the one way the chart and kustomize read them (scripts/pipelines-values). */
export function pipelineValues(dir: string): { files: Record<string, string>; binaryFiles: Record<string, string> } {
  const { pipelineFiles } = require(path.resolve(__dirname, '../../scripts/pipelines-values')) as {
    pipelineFiles(folder: string): { files: Record<string, string>; binaryFiles: Record<string, string> };
  };
  return pipelineFiles(dir);
}

/** Restricted Pod Security for the official NATS chart's pods (server and config reloader): its defaults set none. */
export const NATS_RESTRICTED = {
  pod: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
  container: {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

/** The chart values for the services' scaling settings. */
export function componentValues(scaling: Record<Service, Scaling>, pipelines: string[]): Record<string, unknown> {
  return Object.fromEntries(
    SERVICES.map((s) => {
      const sc = scaling[s];
      if (sc.mode === 'keda' && (s === 'ingest-api' || s === 'monitor'))
        throw new Error(`${s} cannot scale with KEDA: it has no consumer lag`);
      const autoscaling =
        sc.mode === 'none'
          ? { mode: 'none', minReplicas: 1, maxReplicas: 1 }
          : { mode: sc.mode, minReplicas: sc.minReplicas, maxReplicas: sc.maxReplicas, ...(sc.mode === 'keda' ? { pipelines } : {}) };
      return [
        s,
        {
          replicas: sc.mode === 'none' ? sc.replicas : sc.minReplicas,
          autoscaling,
          pdb: { enabled: (sc.mode === 'none' ? sc.replicas : sc.minReplicas) > 1 },
        },
      ];
    }),
  );
}

/** NATS, PostgreSQL and Tributary in one namespace. */
export class TributaryStack extends pulumi.ComponentResource {
  /** The namespace everything runs in. */
  readonly namespace: pulumi.Output<string>;
  /** NATS URL the services use. */
  readonly natsUrl: pulumi.Output<string>;
  /** The Helm release of Tributary. */
  readonly release: k8s.helm.v3.Release;

  constructor(name: string, args: TributaryStackArgs, opts?: pulumi.ComponentResourceOptions) {
    super('tributary:index:TributaryStack', name, {}, opts);
    const child = { parent: this };
    const ns = new k8s.core.v1.Namespace(
      name,
      { metadata: { name: args.namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      child,
    );
    this.namespace = ns.metadata.name;

    // NATS with JetStream: the official chart by reference.
    const nats = new k8s.helm.v3.Release(
      `${name}-nats`,
      {
        name: 'nats',
        chart: 'nats',
        version: args.natsChartVersion,
        repositoryOpts: { repo: 'https://nats-io.github.io/k8s/helm/charts/' },
        namespace: this.namespace,
        values: {
          config: {
            cluster: { enabled: args.natsReplicas > 1, replicas: args.natsReplicas },
            // max_file_store follows the volume, so what migrate reserves is checked against it.
            jetstream: { enabled: true, fileStore: { pvc: { size: args.natsStorage }, maxSize: args.natsStorage } },
          },
          // The namespace enforces the restricted Pod Security Standard: the chart's pods must meet it.
          podTemplate: { merge: { spec: { securityContext: NATS_RESTRICTED.pod } } },
          container: {
            merge: {
              resources: { requests: { cpu: '100m', memory: '256Mi' }, limits: { memory: '1Gi' } },
              securityContext: NATS_RESTRICTED.container,
            },
          },
          reloader: { merge: { securityContext: NATS_RESTRICTED.container } },
          natsBox: { enabled: false },
        },
      },
      child,
    );
    // A cluster is named server by server (the chart's pods behind its headless Service): clients
    // then fail over without waiting for the Service, and the monitor can tell which one is down.
    const natsPods = (scheme: string, port: number, single = 'nats') =>
      this.namespace.apply((ns) =>
        args.natsReplicas > 1
          ? Array.from({ length: args.natsReplicas }, (_, i) => `${scheme}://nats-${i}.nats-headless.${ns}.svc:${port}`).join(',')
          : `${scheme}://${single}.${ns}.svc:${port}`,
      );
    this.natsUrl = args.natsReplicas > 1 ? natsPods('nats', 4222) : pulumi.interpolate`nats://nats.${this.namespace}.svc:4222`;
    const streamReplicas = args.streamReplicas ?? (args.natsReplicas >= 3 ? 3 : 1);
    if (streamReplicas > args.natsReplicas) {
      throw new Error(
        `streamReplicas ${streamReplicas} exceeds the ${args.natsReplicas} NATS server(s): JetStream cannot place the replicas`,
      );
    }

    // PostgreSQL: the Tributary chart's own (postgresql.dev), or an existing server.
    const dependsOn: pulumi.Resource[] = [nats];
    const ownPostgres = args.postgres.kind === 'chart';
    const databaseUrl: pulumi.Output<string> =
      args.postgres.kind === 'chart'
        ? pulumi.interpolate`postgres://tributary:${args.postgres.password}@tributary-postgresql.${this.namespace}.svc:5432/tributary`
        : pulumi.output(args.postgres.url);
    const postgresPassword: Record<string, pulumi.Input<string>> = args.postgres.kind === 'chart'
      ? { 'postgres-password': pulumi.secret(args.postgres.password) }
      : {};

    // Secrets of the services, referenced by the chart (never passed as values).
    const secrets = new k8s.core.v1.Secret(
      `${name}-secrets`,
      {
        metadata: { name: 'tributary-secrets', namespace: this.namespace },
        stringData: { 'database-url': pulumi.secret(databaseUrl), 'hmac-key': pulumi.secret(args.hmacKey), ...postgresPassword },
      },
      child,
    );
    dependsOn.push(secrets);

    this.release = new k8s.helm.v3.Release(
      `${name}-tributary`,
      {
        name: 'tributary',
        chart: CHART_PATH,
        namespace: this.namespace,
        // The migrate hook must finish before the release counts as deployed.
        waitForJobs: true,
        timeout: 600,
        values: pulumi.all([this.natsUrl, natsPods('http', 8222, 'nats-headless')]).apply(([natsUrl, monitorUrls]) => ({
          global: { image: args.image },
          // The official chart serves monitoring (8222) on its headless Service.
          nats: { url: natsUrl, monitorUrl: monitorUrls },
          jetstream: { replicas: streamReplicas, storage: args.natsStorage },
          postgresql: {
            url: '',
            existingSecret: 'tributary-secrets',
            existingSecretKey: 'database-url',
            ...(ownPostgres
              ? { dev: { enabled: true, storage: (args.postgres as { storage: string }).storage, existingSecret: 'tributary-secrets' } }
              : {}),
          },
          secrets: {
            hmacKeyExistingSecret: 'tributary-secrets',
            hmacKeyExistingSecretKey: 'hmac-key',
            ...(args.apiKeysSecret ? { apiKeysExistingSecret: args.apiKeysSecret } : { allowOpenIngest: true }),
          },
          pipelines: pipelineValues(args.pipelinesDir),
          monitoring: {
            serviceMonitor: { enabled: args.monitoring },
            prometheusRule: { enabled: args.monitoring },
            grafanaDashboard: { enabled: args.monitoring },
          },
          components: componentValues(args.scaling, args.pipelines),
          ...(args.chartValues ?? {}),
        })),
      },
      { ...child, dependsOn },
    );
    this.registerOutputs({ namespace: this.namespace, natsUrl: this.natsUrl, release: this.release.status });
  }
}
