import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './free-port';
import { httpStatus } from './http-status';
import { logSize } from './log-tail';
import { LocalServer } from './local-server';
import { findExecutable, spawnChild, waitUntilReady } from './spawn-child';
import { makeTempDir } from './temp-dir';

/** Options of {@link NatsServer.start}. */
export interface NatsServerOptions {
  /** Client port; a free one unless told. */
  port?: number;
  /** JetStream store directory; a fresh one inside the server's temp dir unless told (then kept on cleanup). */
  storeDir?: string;
  /** Server `max_payload` in bytes (the default is 1 MiB). */
  maxPayload?: number;
  /** Extra nats-server configuration text, appended to the generated config file. */
  configExtra?: string;
  /** How long to wait for readiness; 20 s unless told. */
  startTimeoutMs?: number;
}

const FALLBACK_BINARY = '/usr/sbin/nats-server';
const STOP_GRACE_MS = 10_000;

/**
 * A private `nats-server -js` on 127.0.0.1, on free ports, with its store in a temp dir.
 * Output goes to `logPath`; `restart()` keeps the ports and the store so JetStream data survives.
 */
export class NatsServer extends LocalServer {
  /** Client port on 127.0.0.1. */
  readonly port: number;
  /** HTTP monitoring port on 127.0.0.1. */
  readonly monitorPort: number;
  /** JetStream store directory (`-sd`). */
  readonly storeDir: string;

  private constructor(
    private readonly binary: string,
    private readonly configPath: string | undefined,
    private readonly startTimeoutMs: number,
    fields: {
      port: number;
      monitorPort: number;
      storeDir: string;
      dir: string;
    },
  ) {
    super({
      dir: fields.dir,
      logName: 'nats-server.log',
      description: `nats-server nats://127.0.0.1:${fields.port} (${fields.dir})`,
      stopSignal: 'SIGTERM',
      stopGraceMs: STOP_GRACE_MS,
    });
    this.port = fields.port;
    this.monitorPort = fields.monitorPort;
    this.storeDir = fields.storeDir;
  }

  /** Client URL, `nats://127.0.0.1:<port>`. */
  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Monitoring base URL, `http://127.0.0.1:<monitorPort>`. */
  get monitorUrl(): string {
    return `http://127.0.0.1:${this.monitorPort}`;
  }

  /**
   * Starts a server and waits until the client port accepts connections and
   * `/healthz?js-enabled-only=true` says JetStream is up.
   */
  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const binary = findExecutable('nats-server', [FALLBACK_BINARY]);
    if (!binary) {
      throw new Error(
        `nats-server not found on PATH or at ${FALLBACK_BINARY}: run scripts/setup (installs the Debian package nats-server)`,
      );
    }
    const dir = makeTempDir('nats');
    const storeDir = opts.storeDir ?? join(dir, 'store');
    // Options without a command-line flag (max_payload) go through a config file; flags given on
    // the command line (-p, -a, -m, -sd) override it.
    const config = [opts.maxPayload !== undefined ? `max_payload: ${opts.maxPayload}` : '', opts.configExtra ?? '']
      .filter(Boolean)
      .join('\n');
    const configPath = config ? join(dir, 'nats-server.conf') : undefined;
    if (configPath) writeFileSync(configPath, config + '\n');

    return LocalServer.launchFirst(
      async () =>
        new NatsServer(binary, configPath, opts.startTimeoutMs ?? 20_000, {
          port: opts.port ?? (await freePort()),
          monitorPort: await freePort(),
          storeDir,
          dir,
        }),
      /address already in use/i,
    );
  }

  protected async launch(): Promise<void> {
    const args = ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), '-sd', this.storeDir];
    if (this.configPath) args.push('-c', this.configPath);
    const logFrom = logSize(this.logPath);
    const started = Date.now();
    this.child = spawnChild({
      command: this.binary,
      args,
      logPath: this.logPath,
      cwd: this.dir,
    });
    await waitUntilReady(
      this.child,
      `nats-server on port ${this.port}`,
      async () => (await tcpAnswers(this.port)) && (await jetStreamHealthy(this.monitorUrl)),
      { timeoutMs: this.startTimeoutMs, logPath: this.logPath, logFrom },
    );
    this.lastStartMs = Date.now() - started;
  }
}

function tcpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.setTimeout(1_000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

async function jetStreamHealthy(monitorUrl: string): Promise<boolean> {
  try {
    return (await httpStatus(`${monitorUrl}/healthz?js-enabled-only=true`, 1_000)) === 200;
  } catch {
    return false;
  }
}
