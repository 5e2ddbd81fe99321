import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { freePort } from './free-port';
import { httpStatus } from './http-status';
import { logSize } from './log-tail';
import { LocalServer } from './local-server';
import { findExecutable, spawnChild, waitUntilReady } from './spawn-child';
import { fastTmpdir, makeTempDir } from './temp-dir';

/** Options of {@link ClickHouseServer.start}. */
export interface ClickHouseServerOptions {
  /** Password of the `default` user (none unless told). */
  password?: string;
  /** How long to wait for readiness; 60 s unless told (the first start on a loaded machine is slow). */
  startTimeoutMs?: number;
}

const FALLBACK_BINARY = '/usr/sbin/clickhouse-server';
const STOP_GRACE_MS = 30_000;
const MISSING = `clickhouse-server not found on PATH or at ${FALLBACK_BINARY}: run scripts/setup --test-tools (installs the Debian package clickhouse-server)`;

/**
 * ClickHouse refuses nothing as root, but its data should not be root's: running as root, the
 * server runs as the `clickhouse` system user (created by the Debian package) and its temp dir is
 * chowned to it, as PostgreSQL is run as `postgres`.
 */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'clickhouse'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'clickhouse'], { encoding: 'utf8' }).trim());
    return { name: 'clickhouse', uid, gid };
  } catch {
    throw new Error('running as root but there is no "clickhouse" user to run clickhouse-server as: run scripts/setup --test-tools');
  }
}

const xml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The server's config.xml: loopback only, the given ports, everything under `dir`, logs on the console. */
function configXml(dir: string, ports: { http: number; tcp: number; interserver: number }): string {
  const data = join(dir, 'data');
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><console>1</console></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>${xml(data)}/</path>
  <tmp_path>${xml(data)}/tmp/</tmp_path>
  <user_files_path>${xml(data)}/user_files/</user_files_path>
  <format_schema_path>${xml(data)}/format_schemas/</format_schema_path>
  <users_config>${xml(join(dir, 'users.xml'))}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`;
}

/** users.xml: one `default` user, from loopback only. */
function usersXml(password: string): string {
  return `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users>
    <default>
      <password>${xml(password)}</password>
      <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;
}

/**
 * A private clickhouse-server (Debian's 18.16) on 127.0.0.1, on free HTTP, native and interserver
 * ports, with its own config.xml and users.xml and its data in a temp dir. `restart()` keeps the
 * ports and the data. Never a server already running on the machine.
 */
export class ClickHouseServer extends LocalServer {
  /** HTTP interface port. */
  readonly httpPort: number;
  /** Native protocol port (clickhouse-client). */
  readonly tcpPort: number;
  /** Password of the `default` user. */
  readonly password: string;

  private constructor(
    private readonly binary: string,
    private readonly user: ReturnType<typeof serverUser>,
    private readonly startTimeoutMs: number,
    fields: { httpPort: number; tcpPort: number; dir: string; password: string },
  ) {
    super({
      dir: fields.dir,
      logName: 'clickhouse-server.log',
      description: `clickhouse-server http://127.0.0.1:${fields.httpPort} (${fields.dir})`,
      stopSignal: 'SIGTERM',
      stopGraceMs: STOP_GRACE_MS,
    });
    this.httpPort = fields.httpPort;
    this.tcpPort = fields.tcpPort;
    this.password = fields.password;
  }

  /** Writes the config and starts the server, resolving once `GET /ping` answers. */
  static async start(opts: ClickHouseServerOptions = {}): Promise<ClickHouseServer> {
    const binary = findExecutable('clickhouse-server', [FALLBACK_BINARY]);
    if (!binary) throw new Error(MISSING);
    const user = serverUser();
    const dir = makeTempDir('clickhouse', fastTmpdir());
    const password = opts.password ?? '';
    writeFileSync(join(dir, 'users.xml'), usersXml(password));
    mkdirSync(join(dir, 'data'));
    return LocalServer.launchFirst(
      async () => {
        const ports = { http: await freePort(), tcp: await freePort(), interserver: await freePort() };
        writeFileSync(join(dir, 'config.xml'), configXml(dir, ports));
        if (user) execFileSync('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
        return new ClickHouseServer(binary, user, opts.startTimeoutMs ?? 60_000, {
          httpPort: ports.http,
          tcpPort: ports.tcp,
          dir,
          password,
        });
      },
      /address already in use/i,
      () => rmSync(join(dir, 'data'), { recursive: true, force: true }),
    );
  }

  /** Base URL of the HTTP interface, `http://127.0.0.1:<httpPort>`. */
  get url(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  /**
   * Runs one statement over HTTP as `default` and returns the rows of a SELECT (parsed from
   * `FORMAT JSONEachRow`, which this appends to SELECTs); throws with the server's message.
   */
  async query<R = Record<string, unknown>>(sql: string): Promise<R[]> {
    const select = /^\s*(SELECT|SHOW|WITH|DESCRIBE)\b/i.test(sql);
    const body = select ? `${sql}\nFORMAT JSONEachRow` : sql;
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${this.url}/`,
        {
          method: 'POST',
          agent: false,
          timeout: 60_000,
          headers: { authorization: `Basic ${Buffer.from(`default:${this.password}`).toString('base64')}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => {
            const out = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 200) resolve(out);
            else reject(new Error(`clickhouse ${res.statusCode}: ${out.trim()}\n${sql}`));
          });
        },
      );
      req.once('timeout', () => req.destroy(new Error(`clickhouse query timed out: ${sql}`)));
      req.once('error', reject);
      req.end(body);
    });
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as R);
  }

  protected async launch(): Promise<void> {
    const logFrom = logSize(this.logPath);
    const started = Date.now();
    this.child = spawnChild({
      command: this.binary,
      args: [`--config-file=${join(this.dir, 'config.xml')}`],
      logPath: this.logPath,
      cwd: this.dir,
      user: this.user?.name,
    });
    await waitUntilReady(this.child, `clickhouse-server on port ${this.httpPort}`, () => pingOk(this.url), {
      timeoutMs: this.startTimeoutMs,
      logPath: this.logPath,
      logFrom,
    });
    this.lastStartMs = Date.now() - started;
  }
}

async function pingOk(url: string): Promise<boolean> {
  try {
    return (await httpStatus(`${url}/ping`, 1_000)) === 200;
  } catch {
    return false;
  }
}
