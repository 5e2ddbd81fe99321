/**
 * Parsed Kubernetes manifests and the questions the deploy tests ask of them.
 */
import { parseAllDocuments } from 'yaml';

/** A Kubernetes object as parsed from YAML. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
  [key: string]: any;
};

/** Parses multi-document YAML into objects; throws on the first YAML error. Empty documents are skipped. */
export function parseManifests(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push(value as K8sObject);
  }
  return out;
}

/** Objects of one kind. */
export const ofKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);

/** The one object of `kind` named `name`; throws when absent. */
export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

/** Every pod template (Deployment, StatefulSet, Job) with its owner, for policy checks. */
export function podSpecs(objects: K8sObject[]): { owner: string; spec: any }[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job', 'DaemonSet'].includes(o.kind))
    .map((o) => ({ owner: `${o.kind}/${o.metadata.name}`, spec: o.spec.template.spec }));
}

/**
 * Restricted Pod Security Standard (the subset a manifest can show): problems of one pod spec,
 * empty when it is restricted, runs as non-root and every container has requests and limits.
 */
export function restrictedProblems(owner: string, spec: any): string[] {
  const problems: string[] = [];
  const pod = spec.securityContext ?? {};
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    const where = `${owner} container ${c.name}`;
    if (!(sc.runAsNonRoot ?? pod.runAsNonRoot)) problems.push(`${where}: runAsNonRoot is not true`);
    if ((sc.runAsUser ?? pod.runAsUser) === 0) problems.push(`${where}: runs as uid 0`);
    if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation is not false`);
    if (sc.privileged) problems.push(`${where}: privileged`);
    if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem is writable`);
    if (!(sc.capabilities?.drop ?? []).includes('ALL')) problems.push(`${where}: capabilities not dropped`);
    if ((sc.seccompProfile ?? pod.seccompProfile)?.type !== 'RuntimeDefault') problems.push(`${where}: seccomp is not RuntimeDefault`);
    if (!c.resources?.limits?.memory || !c.resources?.requests?.cpu) problems.push(`${where}: missing requests or limits`);
  }
  for (const v of spec.volumes ?? []) if (v.hostPath) problems.push(`${owner}: hostPath volume ${v.name}`);
  if (spec.hostNetwork || spec.hostPID || spec.hostIPC) problems.push(`${owner}: host namespaces`);
  return problems;
}
