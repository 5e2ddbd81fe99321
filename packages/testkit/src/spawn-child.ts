import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { logTail } from './log-tail';
import { waitFor } from './wait-for';

/** How a child process ended: exit code, or the signal that killed it. */
export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error;
}

/** Options of {@link spawnChild}. */
export interface SpawnChildOptions {
  command: string;
  args: string[];
  /** stdout and stderr are appended here (opened by this process, so any child user can write). */
  logPath: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Run as this system user (needs root); PostgreSQL refuses to run as root. */
  user?: string;
}

/** A started child process whose output goes to a log file. */
export interface ChildHandle {
  readonly pid: number;
  /** Resolves (never rejects) when the process has exited. */
  readonly exited: Promise<ChildExit>;
  /** True until the exit has been observed. */
  readonly running: boolean;
  /** Sends a signal; a no-op once the process has exited. */
  signal(signal: NodeJS.Signals): void;
}

/** Finds an executable on PATH, then in `fallbacks`; undefined when none exists. */
export function findExecutable(name: string, fallbacks: string[] = []): string | undefined {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((dir) => join(dir, name)),
    ...fallbacks,
  ];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here: try the next one.
    }
  }
  return undefined;
}

let setprivPath: string | null | undefined;

/**
 * Spawns `command` with its output appended to `logPath`.
 *
 * When util-linux `setpriv` exists (always on Debian) the command runs under
 * `setpriv [--reuid U --regid U --init-groups] --pdeathsig KILL -- command`. setpriv execs, so
 * the pid we hold is the real server's pid and signals reach it directly; `runuser` would fork,
 * forward SIGTERM and SIGKILL the server 2 s later, turning PostgreSQL's fast shutdown into a crash.
 * The parent-death signal makes the kernel kill the child if the jest worker dies without
 * cleaning up, which is what keeps orphans from outliving a crashed or timed-out test run.
 */
export function spawnChild(opts: SpawnChildOptions): ChildHandle {
  if (setprivPath === undefined) setprivPath = findExecutable('setpriv', ['/usr/bin/setpriv']) ?? null;
  let command = opts.command;
  let args = opts.args;
  if (setprivPath !== null) {
    const userArgs = opts.user ? ['--reuid', opts.user, '--regid', opts.user, '--init-groups'] : [];
    args = [...userArgs, '--pdeathsig', 'KILL', '--', command, ...args];
    command = setprivPath;
  } else if (opts.user) {
    throw new Error(`setpriv (util-linux) is needed to run ${opts.command} as ${opts.user}; run scripts/setup`);
  }

  const logFd = openSync(opts.logPath, 'a');
  let child;
  try {
    child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', logFd, logFd],
    });
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(logFd);
  }

  let running = true;
  const exited = new Promise<ChildExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      // 'error' without 'exit' means the process never started.
      if (child.pid === undefined) {
        running = false;
        resolve({ code: null, signal: null, error });
      }
    });
  });

  return {
    pid: child.pid ?? -1,
    exited,
    get running() {
      return running;
    },
    signal(signal) {
      if (!running || child.pid === undefined) return;
      try {
        process.kill(child.pid, signal);
      } catch {
        // Exited between the check and the kill.
      }
    },
  };
}

/** Describes a {@link ChildExit} in words for error messages. */
export function describeExit(exit: ChildExit): string {
  if (exit.error) return `failed to start: ${exit.error.message}`;
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/**
 * Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs and waits again.
 * Resolves with how the process ended.
 */
export async function terminate(child: ChildHandle, signal: NodeJS.Signals, graceMs: number): Promise<ChildExit> {
  if (!child.running) return child.exited;
  child.signal(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const first = await Promise.race([child.exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  child.signal('SIGKILL');
  return child.exited;
}

/**
 * Polls `probe` until it returns true while watching the child: if the child exits first this
 * fails at once instead of waiting out the timeout. On failure the child is SIGKILLed and the
 * error carries the log tail since `logFrom`, because "not ready" alone never explains anything.
 */
export async function waitUntilReady(
  child: ChildHandle,
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; logPath: string; logFrom: number },
): Promise<void> {
  let stopped = false;
  const exitedEarly = child.exited.then((exit) => {
    if (!stopped) throw new Error(`${what} ${describeExit(exit)} before it was ready`);
  });
  try {
    await Promise.race([
      exitedEarly,
      waitFor(async () => (stopped ? true : (await probe()) || undefined), {
        timeoutMs: opts.timeoutMs,
        intervalMs: 25,
        what: `${what} to be ready`,
      }),
    ]);
  } catch (error) {
    stopped = true;
    child.signal('SIGKILL');
    await child.exited;
    const tail = logTail(opts.logPath, 40, opts.logFrom);
    const message = `${(error as Error).message}\n--- ${opts.logPath} (tail) ---\n${tail || '(empty)'}`;
    throw Object.assign(new Error(message), { cause: error });
  } finally {
    stopped = true;
  }
}
