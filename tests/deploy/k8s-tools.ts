/**
 * The real tools the deploy tests run: helm and kubectl from `scripts/fetch-k8s-tools` (cached
 * outside the clone), run synchronously with their output captured.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';

/** The repository root. */
export const ROOT = path.resolve(__dirname, '../..');

let binDir: string | undefined;

/** Folder holding `helm` and `kubectl`, fetched on first use. */
export function k8sToolsDir(): string {
  binDir ??= execFileSync(path.join(ROOT, 'scripts/fetch-k8s-tools'), ['--quiet'], { encoding: 'utf8', timeout: 300_000 }).trim();
  return binDir;
}

/** Result of a tool run. */
export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `helm` or `kubectl` with `args` in `cwd`; never throws on a non-zero exit. */
export function runTool(tool: 'helm' | 'kubectl', args: string[], cwd = ROOT): ToolResult {
  const r = spawnSync(path.join(k8sToolsDir(), tool), args, {
    cwd,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    // helm keeps caches and config in HOME: point them into a temp folder, never the user's.
    env: {
      ...process.env,
      HELM_CACHE_HOME: '/tmp/tributary-helm/cache',
      HELM_CONFIG_HOME: '/tmp/tributary-helm/config',
      HELM_DATA_HOME: '/tmp/tributary-helm/data',
    },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a tool and returns stdout; throws with stderr when it fails. */
export function tool(t: 'helm' | 'kubectl', args: string[], cwd = ROOT): string {
  const r = runTool(t, args, cwd);
  if (r.status !== 0) throw new Error(`${t} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
