import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { logSize, logTail } from './log-tail';
import { type ChildHandle, terminate } from './spawn-child';
import { track } from './stop-all';

/** How a server is stopped, and how it is named in `stopAll`'s report. */
export interface LocalServerSetup {
  /** Temp dir holding its log and data; removed by `cleanup()` (unless TRIBUTARY_KEEP_TMP). */
  dir: string;
  /** File name of its log inside `dir`. */
  logName: string;
  /** Names the server in `stopAll`'s report of what it cleaned up. */
  description: string;
  /** The signal of a graceful stop. */
  stopSignal: NodeJS.Signals;
  /** How long a stop waits before SIGKILL. */
  stopGraceMs: number;
}

/**
 * What the test kit's private servers (NATS, PostgreSQL, ClickHouse) share: one child process at
 * a time, output appended to one log across restarts, registered with `stopAll` from birth, and
 * stop / crash / restart-in-place / cleanup. A subclass says how to launch and when it is ready.
 */
export abstract class LocalServer {
  /** Temp dir holding the log and the server's files. */
  readonly dir: string;
  /** The server's stdout and stderr, across restarts. */
  readonly logPath: string;
  /** Milliseconds the last start or restart took until ready (for diagnostics). */
  lastStartMs = 0;

  protected child: ChildHandle | undefined;
  protected readonly untrack: () => void;
  private readonly stopSignal: NodeJS.Signals;
  private readonly stopGraceMs: number;

  protected constructor(setup: LocalServerSetup) {
    this.dir = setup.dir;
    this.logPath = join(setup.dir, setup.logName);
    this.stopSignal = setup.stopSignal;
    this.stopGraceMs = setup.stopGraceMs;
    this.untrack = track({
      description: setup.description,
      dispose: () => this.cleanup(),
      killNow: () => this.child?.signal('SIGKILL'),
    });
  }

  /** Spawns the server (into `child`) and resolves once it is ready. */
  protected abstract launch(): Promise<void>;

  /**
   * Launches a server from `make` (fresh free ports each time) and returns it once ready. A port
   * from freePort() is released before the server binds it, so a parallel jest worker can take
   * it in between: a start whose log then matches `clash` is retried, up to 3 attempts. A failed
   * start is untracked and its error thrown; `discard` removes what should not outlive it, and
   * the log the error names stays (swept once this process has exited).
   */
  protected static async launchFirst<S extends LocalServer>(make: () => Promise<S>, clash: RegExp, discard?: () => void): Promise<S> {
    for (let attempt = 1; ; attempt++) {
      const server = await make();
      const logFrom = logSize(server.logPath);
      try {
        await server.launch();
        return server;
      } catch (error) {
        server.untrack();
        if (clash.test(logTail(server.logPath, 40, logFrom)) && attempt < 3) continue;
        discard?.();
        throw error;
      }
    }
  }

  /** True while the server process runs. */
  get running(): boolean {
    return this.child?.running ?? false;
  }

  /** Process id of the running server (undefined when stopped). */
  get pid(): number | undefined {
    return this.child?.running ? this.child.pid : undefined;
  }

  /** Graceful stop (the server's stop signal), SIGKILL if it has not exited in time. Safe when stopped. */
  async stop(): Promise<void> {
    if (this.child) await terminate(this.child, this.stopSignal, this.stopGraceMs);
  }

  /** Crash: SIGKILL and wait for the exit (the next start recovers, as after a real crash). */
  async kill(): Promise<void> {
    if (this.child) await terminate(this.child, 'SIGKILL', this.stopGraceMs);
  }

  /** Stops (if running) and starts again on the same ports with the same data. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  /** Stops the server and removes its temp dir. */
  async cleanup(): Promise<void> {
    await this.stop();
    this.untrack();
    if (!process.env.TRIBUTARY_KEEP_TMP) rmSync(this.dir, { recursive: true, force: true });
  }
}
