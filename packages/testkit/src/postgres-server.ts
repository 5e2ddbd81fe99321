import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, type QueryResultRow } from 'pg';
import { freePort } from './free-port';
import { logSize, logTail } from './log-tail';
import { LocalServer } from './local-server';
import { describeExit, spawnChild, waitUntilReady } from './spawn-child';
import { fastTmpdir, makeTempDir } from './temp-dir';

/** Options of {@link PostgresServer.start}. */
export interface PostgresServerOptions {
  /** TCP port on 127.0.0.1; a free one unless told. */
  port?: number;
  /**
   * Extra server settings passed as `-c name=value` after the defaults (so they win), e.g.
   * `{ wal_level: 'logical' }`.
   */
  settings?: Record<string, string | number | boolean>;
  /** How long to wait for readiness; 30 s unless told. */
  startTimeoutMs?: number;
  /**
   * Where the server's temp dir goes: /dev/shm (tmpfs) when usable, else the temp dir. Pass a
   * disk-backed directory for data sets larger than memory should hold.
   */
  baseDir?: string;
}

const PG_ROOT = '/usr/lib/postgresql';
const STOP_GRACE_MS = 30_000;
/**
 * Flushing to disk is worthless for throwaway test data and costs seconds per test file on slow
 * disks, and these settings only matter if the machine crashes. synchronous_commit stays on: with
 * it off, commits are acknowledged before their WAL leaves shared memory, so `kill()` loses
 * acknowledged transactions (about 70 of 2000 rows in a measured run), which would make every
 * exactly-once crash test fail for the wrong reason; with fsync off it costs nothing measurable.
 * Pass `settings: { synchronous_commit: 'off' }` where losing them is acceptable.
 */
const TEST_SETTINGS = ['fsync=off', 'full_page_writes=off'];
const INITDB_ARGS = ['-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C.UTF-8'];

/** Finds the binaries of the highest PostgreSQL major version installed from Debian packages. */
function findPostgres(): { bin: string; version: number } {
  let versions: number[] = [];
  try {
    versions = readdirSync(PG_ROOT)
      .filter((name) => /^\d+$/.test(name) && existsSync(join(PG_ROOT, name, 'bin', 'postgres')))
      .map(Number)
      .sort((a, b) => b - a);
  } catch {
    // No /usr/lib/postgresql at all: handled below.
  }
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server not found (${PG_ROOT}/<version>/bin/postgres): run scripts/setup (installs the Debian package postgresql)`,
    );
  }
  return {
    bin: join(PG_ROOT, String(versions[0]), 'bin'),
    version: versions[0],
  };
}

/**
 * PostgreSQL refuses to run as root, and CI runs as root: then everything runs as the `postgres`
 * system user (created by the Debian package) and the temp dirs are chowned to it.
 */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { name: 'postgres', uid, gid };
  } catch {
    throw new Error('running as root but there is no "postgres" user to run PostgreSQL as: run scripts/setup');
  }
}

/** Runs a one-shot command (initdb) and fails with its log tail unless it exits 0. */
async function runToCompletion(
  what: string,
  opts: {
    command: string;
    args: string[];
    logPath: string;
    cwd: string;
    user?: string;
  },
): Promise<void> {
  const logFrom = logSize(opts.logPath);
  const exit = await spawnChild(opts).exited;
  if (exit.code !== 0) {
    throw new Error(`${what} ${describeExit(exit)}\n--- ${opts.logPath} (tail) ---\n${logTail(opts.logPath, 40, logFrom)}`);
  }
}

/**
 * Returns a pristine data directory made by initdb, shared by all test processes on the machine.
 *
 * initdb takes about 1.2 s on tmpfs (3 s on these machines' disks); copying its result about
 * 0.15 s, and a test run starts dozens of servers. The template is built in a staging dir and renamed into place, so concurrent jest workers
 * never see a half-built one (a loser of the race just discards its copy).
 */
async function dataTemplate(base: string, bin: string, version: number, user: ReturnType<typeof serverUser>): Promise<string> {
  const key = createHash('sha256')
    .update([bin, ...INITDB_ARGS].join(' '))
    .digest('hex')
    .slice(0, 10);
  const templateDir = join(base, `tributary-pg-template-${version}-${process.getuid?.() ?? 0}-${key}`);
  const data = join(templateDir, 'data');
  const usable = () => existsSync(join(templateDir, 'ready')) && existsSync(join(data, 'global', 'pg_control'));
  if (usable()) return data;

  const staging = mkdtempSync(`${templateDir}.tmp-`);
  try {
    if (user) chownSync(staging, user.uid, user.gid);
    await runToCompletion('initdb', {
      command: join(bin, 'initdb'),
      args: ['-D', join(staging, 'data'), ...INITDB_ARGS],
      logPath: join(staging, 'initdb.log'),
      cwd: staging,
      user: user?.name,
    });
    writeFileSync(join(staging, 'ready'), '');
    // Another worker may have finished first while initdb ran: never touch a usable template,
    // someone may be copying it. Only a broken one (lost files) is replaced.
    if (usable()) {
      rmSync(staging, { recursive: true, force: true });
      return data;
    }
    if (existsSync(templateDir)) rmSync(templateDir, { recursive: true, force: true });
    renameSync(staging, templateDir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const code = (error as NodeJS.ErrnoException).code;
    // Another worker renamed its template into place first: use that one.
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && usable()) return data;
    throw error;
  }
  return data;
}

/** Resolves true once a client can log in and run a query (what pg_isready approximates). */
async function acceptsQueries(port: number): Promise<boolean> {
  const client = new Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 2_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A private PostgreSQL server on 127.0.0.1 with trust auth and superuser `postgres`, its data
 * directory and unix socket in a temp dir. `restart()` keeps the port and the data.
 */
export class PostgresServer extends LocalServer {
  /** TCP port on 127.0.0.1. */
  readonly port: number;
  /** Major version of the server binaries, e.g. 15. */
  readonly version: number;
  /** The data directory (`-D`). */
  readonly dataDir: string;
  /** Directory of the unix socket (`-k`), the same as `dir`. */
  readonly socketDir: string;

  private constructor(
    private readonly bin: string,
    private readonly user: ReturnType<typeof serverUser>,
    private readonly settings: string[],
    private readonly startTimeoutMs: number,
    fields: { port: number; version: number; dir: string },
  ) {
    super({
      dir: fields.dir,
      logName: 'postgres.log',
      description: `postgres on port ${fields.port} (${fields.dir})`,
      // Fast shutdown: disconnect clients, checkpoint.
      stopSignal: 'SIGINT',
      stopGraceMs: STOP_GRACE_MS,
    });
    this.port = fields.port;
    this.version = fields.version;
    this.dataDir = join(fields.dir, 'data');
    this.socketDir = fields.dir;
  }

  /**
   * Creates a data directory (from the shared initdb template) and starts the server, resolving
   * once it accepts queries.
   */
  static async start(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
    const { bin, version } = findPostgres();
    const user = serverUser();
    const base = opts.baseDir ?? fastTmpdir();
    const template = await dataTemplate(base, bin, version, user);
    const dir = makeTempDir('pg', base);
    if (user) chownSync(dir, user.uid, user.gid);
    // cp -a keeps the owner (postgres) and the 0700 mode postgres insists on; fs.cpSync keeps neither.
    execFileSync('cp', ['-a', template, join(dir, 'data')]);
    const settings = [
      ...TEST_SETTINGS,
      ...Object.entries(opts.settings ?? {}).map(
        ([name, value]) => `${name}=${typeof value === 'boolean' ? (value ? 'on' : 'off') : value}`,
      ),
    ];

    return LocalServer.launchFirst(
      async () =>
        new PostgresServer(bin, user, settings, opts.startTimeoutMs ?? 30_000, { port: opts.port ?? (await freePort()), version, dir }),
      /address already in use|could not create any TCP\/IP sockets/i,
      // The data dir would hold 40 MB of memory on tmpfs.
      () => rmSync(join(dir, 'data'), { recursive: true, force: true }),
    );
  }

  /** Connection URL for `database`: `postgres://postgres@127.0.0.1:<port>/<database>`. */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${encodeURIComponent(database)}`;
  }

  /** Runs one statement on `database` with a short-lived connection and returns the rows. */
  async query<R extends QueryResultRow = QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<R[]> {
    const client = new Client({ connectionString: this.url(database) });
    await client.connect();
    try {
      return (await client.query<R>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Creates a database (any name; it is quoted) and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    await this.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    return this.url(name);
  }

  protected async launch(): Promise<void> {
    const args = ['-D', this.dataDir, '-p', String(this.port), '-h', '127.0.0.1', '-k', this.socketDir];
    for (const setting of this.settings) args.push('-c', setting);
    const logFrom = logSize(this.logPath);
    const started = Date.now();
    this.child = spawnChild({
      command: join(this.bin, 'postgres'),
      args,
      logPath: this.logPath,
      cwd: this.dir,
      user: this.user?.name,
    });
    await waitUntilReady(this.child, `postgres on port ${this.port}`, () => acceptsQueries(this.port), {
      timeoutMs: this.startTimeoutMs,
      logPath: this.logPath,
      logFrom,
    });
    this.lastStartMs = Date.now() - started;
  }
}
