/**
 * The Pulumi program: reads the stack's configuration and wires a TributaryStack onto a cluster.
 * Stacks: `kind` (a local kind cluster from the kubeconfig context) and `eks` (an existing EKS
 * cluster, referenced through another stack's `kubeconfig` output or a kubeconfig secret; no AWS
 * provider is needed here).
 */
import path from 'node:path';
import * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { SERVICES, TributaryStack, type Scaling, type Service } from './tributary-stack';

const config = new pulumi.Config('tributary');

/** The cluster: a stack reference's kubeconfig output, a kubeconfig secret, or a kubeconfig context. */
function clusterProvider(): k8s.Provider {
  const clusterStack = config.get('clusterStack');
  const kubeconfig = clusterStack
    ? new pulumi.StackReference('cluster', { name: clusterStack })
        .requireOutput('kubeconfig')
        .apply((k) => (typeof k === 'string' ? k : JSON.stringify(k)))
    : config.getSecret('kubeconfig');
  return new k8s.Provider('cluster', {
    kubeconfig,
    context: config.get('kubeContext'),
    // Objects apply server-side, so fields set by controllers (HPA replicas) are not fought over.
    enableServerSideApply: true,
  });
}

const scaling = config.requireObject<Record<Service, Scaling>>('scaling');
for (const s of SERVICES) if (!scaling[s]) throw new Error(`tributary:scaling has no entry for ${s}`);

const postgresUrl = config.getSecret('postgresUrl');
const stack = new TributaryStack(
  'tributary',
  {
    namespace: config.get('namespace') ?? 'tributary',
    natsChartVersion: config.get('natsChartVersion') ?? '1.3.3',
    natsReplicas: config.getNumber('natsReplicas') ?? 1,
    natsStorage: config.get('natsStorage') ?? '10Gi',
    streamReplicas: config.getNumber('streamReplicas'),
    postgres: postgresUrl
      ? { kind: 'external', url: postgresUrl }
      : {
          kind: 'chart',
          storage: config.get('postgresStorage') ?? '20Gi',
          password: config.requireSecret('postgresPassword'),
        },
    hmacKey: config.requireSecret('hmacKey'),
    image: config.requireObject('image'),
    scaling,
    pipelines: config.getObject<string[]>('pipelines') ?? [],
    // Relative to infra/ (where `pulumi up` runs).
    pipelinesDir: path.resolve(__dirname, '..', config.require('pipelinesDir')),
    apiKeysSecret: config.get('apiKeysFrom'),
    monitoring: config.getBoolean('monitoring') ?? false,
  },
  { providers: { kubernetes: clusterProvider() } },
);

/** Namespace Tributary runs in. */
export const namespace = stack.namespace;
/** NATS URL of the services. */
export const natsUrl = stack.natsUrl;
/** Status of the Tributary Helm release. */
export const releaseStatus = stack.release.status;
