/**
 * Validates Kubernetes objects against the API's schemas, offline: the `kubernetes-models`
 * packages carry validators generated from the Kubernetes OpenAPI spec (core 1.3x) and from the
 * CRDs of KEDA, the Prometheus Operator, Argo CD and Flux. They check types, enums, formats and
 * required fields; they do not reject unknown fields (the generated schemas allow them), so the
 * tests assert the fields they set on top.
 */
import type { K8sObject } from './manifests';

/** Module path of the model for an apiVersion's group, by group. */
const GROUP_MODULES: Record<string, string> = {
  '': 'kubernetes-models',
  apps: 'kubernetes-models',
  batch: 'kubernetes-models',
  policy: 'kubernetes-models',
  autoscaling: 'kubernetes-models',
  'networking.k8s.io': 'kubernetes-models',
  'rbac.authorization.k8s.io': 'kubernetes-models',
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
  'argoproj.io': '@kubernetes-models/argo-cd',
  'helm.toolkit.fluxcd.io': '@kubernetes-models/flux-cd',
  'source.toolkit.fluxcd.io': '@kubernetes-models/flux-cd',
  'kustomize.toolkit.fluxcd.io': '@kubernetes-models/flux-cd',
};

/**
 * Schema versions used for API versions the installed models do not have yet: Flux's GA
 * `helm.toolkit.fluxcd.io/v2` has the fields of v2beta2 that we use.
 */
const VERSION_FALLBACK: Record<string, string> = { 'helm.toolkit.fluxcd.io/v2': 'helm.toolkit.fluxcd.io/v2beta2' };

/** Problems of one object against its schema; empty when valid. An object of an unknown kind is a problem. */
export function schemaProblems(obj: K8sObject): string[] {
  const where = `${obj.kind}/${obj.metadata?.name}`;
  const apiVersion = VERSION_FALLBACK[obj.apiVersion] ?? obj.apiVersion;
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const base = GROUP_MODULES[group!];
  if (!base) return [`${where}: no schema for apiVersion ${obj.apiVersion}`];
  const modulePath = `${base}/${group ? `${group}/` : ''}${version}/${obj.kind}`;
  let Model: (new (data: unknown) => { validate(): void }) | undefined;
  try {
    Model = require(modulePath)[obj.kind];
  } catch {
    return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
  }
  if (!Model) return [`${where}: no schema for ${obj.apiVersion} ${obj.kind}`];
  // kustomize wraps long base64 values in Secrets; the API server's decoder skips the newlines, the validator's format check does not.
  const data =
    obj.kind === 'Secret' && obj.data
      ? Object.fromEntries(Object.entries(obj.data).map(([k, v]) => [k, String(v).replace(/\s+/g, '')]))
      : obj.data;
  try {
    new Model({ ...obj, apiVersion, ...(data ? { data } : {}) }).validate();
    return [];
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
}

/** Problems of every object, flattened. */
export const allSchemaProblems = (objects: K8sObject[]): string[] => objects.flatMap(schemaProblems);
