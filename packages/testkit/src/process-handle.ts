import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { httpStatus } from './http-status';
import { logTail } from './log-tail';
import { type ChildHandle, spawnChild, terminate, waitUntilReady } from './spawn-child';
import { track } from './stop-all';
import { makeTempDir } from './temp-dir';

/** Options of {@link spawnService}. */
export interface SpawnServiceOptions {
  /** Short name for messages and the log dir, e.g. "loader". */
  name: string;
  /** JavaScript file to run with node, e.g. services/loader/dist/main.js. */
  script: string;
  /** Environment, merged over this process's environment. */
  env: Record<string, string>;
  /** When set, wait until a GET of this URL answers 200. */
  readyUrl?: string;
  /** Working directory of the service; this process's unless told. */
  cwd?: string;
  /** Extra arguments after the script. */
  args?: string[];
  /** Options for node itself, before the script (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  /** How long to wait for `readyUrl`; 30 s unless told. */
  readyTimeoutMs?: number;
}

const STOP_GRACE_MS = 10_000;

/** A service running as a child process, its output in `logPath`. */
export class ServiceProcess {
  /** Resolves with the exit code (null when a signal ended it); never rejects. */
  readonly exited: Promise<number | null>;
  private readonly untrack: () => void;

  /** @internal Use {@link spawnService}. */
  constructor(
    /** The name given to {@link spawnService}. */
    readonly name: string,
    /** stdout and stderr of the service. */
    readonly logPath: string,
    private readonly child: ChildHandle,
    private readonly dir: string,
  ) {
    this.exited = child.exited.then((exit) => exit.code);
    this.untrack = track({
      description: `service ${name} pid ${child.pid} (${logPath})`,
      dispose: () => this.cleanup(),
      killNow: () => child.signal('SIGKILL'),
    });
  }

  /** Process id. */
  get pid(): number {
    return this.child.pid;
  }

  /** True until the exit has been observed. */
  get running(): boolean {
    return this.child.running;
  }

  /** Sends a signal (SIGKILL unless told) without waiting; await `exited` for the outcome. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child.signal(signal);
  }

  /** SIGTERM, wait for the exit, SIGKILL after 10 s; resolves with the exit code. */
  async stop(): Promise<number | null> {
    return (await terminate(this.child, 'SIGTERM', STOP_GRACE_MS)).code;
  }

  /** The last `lines` lines of the service's output. */
  logTail(lines = 40): string {
    return logTail(this.logPath, lines);
  }

  /**
   * Stops the service and forgets it; removes its log dir unless `keepLog` or the environment
   * variable TRIBUTARY_KEEP_TMP is set.
   */
  async cleanup(opts: { keepLog?: boolean } = {}): Promise<void> {
    await this.stop();
    this.untrack();
    if (!opts.keepLog && !process.env.TRIBUTARY_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Runs `node <script>` as a child process with `env` merged over `process.env`, its output in a
 * log file, and (with `readyUrl`) resolves once the service answers 200 there.
 *
 * Uses the node binary running the tests (`process.execPath`), not whatever `node` is on PATH, so
 * services run on the same Node version as the tests that drive them.
 */
export async function spawnService(opts: SpawnServiceOptions): Promise<ServiceProcess> {
  const safeName = opts.name.replace(/[^\w.-]/g, '_');
  const dir = makeTempDir(`svc-${safeName}`);
  const logPath = join(dir, `${safeName}.log`);
  const child = spawnChild({
    command: process.execPath,
    args: [...(opts.nodeArgs ?? []), opts.script, ...(opts.args ?? [])],
    logPath,
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
  });
  const service = new ServiceProcess(opts.name, logPath, child, dir);
  const { readyUrl } = opts;
  if (readyUrl) {
    try {
      await waitUntilReady(
        child,
        `service ${opts.name} (${readyUrl})`,
        async () => (await httpStatus(readyUrl, 1_000).catch(() => 0)) === 200,
        { timeoutMs: opts.readyTimeoutMs ?? 30_000, logPath, logFrom: 0 },
      );
    } catch (error) {
      // Keep the log: the error names it and the tail may not be the whole story.
      await service.cleanup({ keepLog: true });
      throw error;
    }
  }
  return service;
}
