/**
 * Connections defined once for a folder of pipelines: `connections.yaml` beside the pipeline files
 * (`connections: { <name>: <connection> }`, the same shape as a pipeline's own `connections:`).
 * A pipeline references one by name from a source (`connection: ticketmaster`) without defining
 * it; the loader copies in the shared connections the pipeline references, so each pipeline holds
 * only those it uses. A name defined both in the pipeline and in the shared file is an error (one
 * definition), and so is a shared file that does not validate (named with its line and field).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { identifier } from './common';
import { connectionSpec } from './connections';
import { readYaml, type SpecProblem } from './read-yaml';

/** The file name of a folder's shared connections. */
export const SHARED_CONNECTIONS_FILE = 'connections.yaml';

const sharedFileSpec = z.strictObject({ connections: z.record(identifier, connectionSpec) });

/** The folder's shared connections as written (raw YAML values, validated), or none. */
export function loadSharedConnections(dir: string): {
  file?: string;
  connections: Record<string, unknown>;
  problems: SpecProblem[];
} {
  const file = path.join(dir, SHARED_CONNECTIONS_FILE);
  if (!existsSync(file)) return { connections: {}, problems: [] };
  const read = readYaml(readFileSync(file, 'utf8'), file);
  if ('problems' in read) return { file, connections: {}, problems: read.problems };
  const { doc, lc, root } = read;
  const at = (pos: number) => ({ line: lc.linePos(pos).line, column: lc.linePos(pos).col });
  const r = sharedFileSpec.safeParse(root);
  if (!r.success) {
    return {
      file,
      connections: {},
      problems: r.error.issues.map((i) => {
        const node = doc.getIn(i.path as PropertyKey[], true) as { range?: [number, number, number] } | undefined;
        return { file, ...(node?.range ? at(node.range[0]) : {}), field: i.path.join('.'), message: i.message };
      }),
    };
  }
  return { file, connections: (root as { connections: Record<string, unknown> }).connections, problems: [] };
}

/** Every string under a key named `connection`, at any depth of a pipeline document. */
function referencedConnections(v: unknown, out: Set<string> = new Set()): Set<string> {
  if (Array.isArray(v)) for (const x of v) referencedConnections(x, out);
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (k === 'connection' && typeof x === 'string') out.add(x);
      else referencedConnections(x, out);
    }
  return out;
}

/**
 * Copies into `root.connections` the shared connections `root` references and does not define;
 * returns the names defined in both (each an error: one definition).
 */
export function mergeSharedConnections(root: unknown, shared: Record<string, unknown>): string[] {
  if (!root || typeof root !== 'object' || Array.isArray(root) || Object.keys(shared).length === 0) return [];
  const doc = root as Record<string, unknown>;
  const own = doc.connections && typeof doc.connections === 'object' ? (doc.connections as Record<string, unknown>) : {};
  const twice = Object.keys(own).filter((n) => Object.hasOwn(shared, n));
  const added: Record<string, unknown> = {};
  for (const name of referencedConnections({ ...doc, connections: undefined }))
    if (!Object.hasOwn(own, name) && Object.hasOwn(shared, name)) added[name] = shared[name];
  if (Object.keys(added).length > 0) doc.connections = { ...own, ...added };
  return twice;
}
