/**
 * A minimal ClickHouse client over its HTTP interface, written for what ClickHouse 18.16 (Debian's
 * package) has: statements in the POST body, `INSERT ... FORMAT JSONEachRow` with the rows as the
 * body, results as `FORMAT JSONEachRow`, HTTP basic authentication and `GET /ping`.
 *
 * Hand-written on `node:http` rather than `@clickhouse/client`: that client targets current
 * servers (it relies on response headers such as `X-ClickHouse-Exception-Code` and settings that
 * 18.16 does not know) and the four requests above are all the sink needs.
 *
 * Failures become TributaryErrors callers can branch on: a value ClickHouse cannot parse or store
 * is TRIB_E_LOAD_REJECTED (the record's fault); anything else (connection refused, timeout,
 * server errors, authentication) is TRIB_E_WAREHOUSE_UNAVAILABLE, retried until it recovers.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { TributaryError } from '@tributary/contract/errors';
import { resolveSecret, type ClickHouseConnection } from '@tributary/contract/spec';

/** How to reach a server. */
export interface ClickHouseClientOptions {
  /** Base URL of the HTTP interface, e.g. `http://127.0.0.1:8123`. */
  url: string;
  user: string;
  password?: string;
  timeoutMs: number;
}

/**
 * ClickHouse error codes that mean the data is at fault (ErrorCodes.cpp): cannot parse a value
 * (6, 25, 26, 27, 38, 41, 72), type mismatch or conversion (53, 70), out of bounds (69), incorrect
 * data (117), string too large (131), NULL into a non-Nullable column (349).
 */
const DATA_ERROR_CODES = new Set([6, 25, 26, 27, 38, 41, 53, 69, 70, 72, 117, 131, 349]);

/** Code of "column already exists" (ALTER TABLE ADD COLUMN racing another migrate). */
export const CLICKHOUSE_COLUMN_EXISTS = 44;
/** Code of "table already exists". */
export const CLICKHOUSE_TABLE_EXISTS = 57;
/** Code of "table doesn't exist". */
export const CLICKHOUSE_UNKNOWN_TABLE = 60;

/** Resolves `env:`/`file:` references; other values are literal. */
function valueOrSecret(v: string, env: NodeJS.ProcessEnv): string {
  return /^(env|file):/.test(v) ? resolveSecret(v, env) : v;
}

/** Quotes an identifier for ClickHouse (backticks; backslash and backtick escaped). */
export function chIdent(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** Quotes a string literal for ClickHouse (18.16 has no query parameters). */
export function chString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A ClickHouse server, spoken to over HTTP. */
export class ClickHouseClient {
  private readonly base: string;
  private readonly auth: string;
  private readonly https: boolean;
  private readonly agent: HttpAgent;

  constructor(private readonly opts: ClickHouseClientOptions) {
    this.base = opts.url.replace(/\/+$/, '');
    this.auth = `Basic ${Buffer.from(`${opts.user}:${opts.password ?? ''}`).toString('base64')}`;
    this.https = this.base.startsWith('https:');
    this.agent = this.https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  /** A client for a `clickhouse` connection of the spec, its secrets resolved now. */
  static fromConnection(c: ClickHouseConnection, env: NodeJS.ProcessEnv = process.env): ClickHouseClient {
    return new ClickHouseClient({
      url: valueOrSecret(c.url, env),
      user: valueOrSecret(c.user, env),
      ...(c.password ? { password: resolveSecret(c.password, env) } : {}),
      timeoutMs: c.timeout,
    });
  }

  /** Where the server is, without credentials (for messages and logs). */
  get where(): string {
    try {
      const u = new URL(this.base);
      return `${u.protocol}//${u.host}`;
    } catch {
      return 'ClickHouse (unparseable URL)';
    }
  }

  /** Whether `GET /ping` answers. */
  async ping(): Promise<boolean> {
    return new Promise((resolve) => {
      const req = (this.https ? httpsRequest : httpRequest)(
        new URL('/ping', `${this.base}/`),
        { agent: this.agent, timeout: this.opts.timeoutMs },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode === 200));
        },
      );
      req.once('timeout', () => req.destroy());
      req.once('error', () => resolve(false));
      req.end();
    });
  }

  /** Runs a statement that returns nothing (DDL). */
  async command(sql: string): Promise<void> {
    await this.request(sql, undefined, sql);
  }

  /** Runs a SELECT and returns its rows (64-bit integers come back as strings). */
  async select<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const text = await this.request(`${sql}\nFORMAT JSONEachRow`, undefined, sql);
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => JSON.parse(l) as T);
  }

  /** Inserts rows given as JSONEachRow text (one JSON object per line) into `table` (quoted). */
  async insert(table: string, ndjson: string): Promise<void> {
    if (ndjson.length === 0) return;
    await this.request(ndjson, `INSERT INTO ${table} FORMAT JSONEachRow`, `INSERT INTO ${table}`);
  }

  private async request(body: string, query: string | undefined, what: string): Promise<string> {
    const path = query === undefined ? '/' : `/?query=${encodeURIComponent(query)}`;
    let reply: { status: number; text: string };
    try {
      reply = await this.post(path, body);
    } catch (err) {
      const cause = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', `ClickHouse at ${this.where} unreachable (${cause}): ${brief(what)}`, {
        cause: err,
      });
    }
    if (reply.status >= 200 && reply.status < 300) return reply.text;
    const code = Number(/Code: (\d+)/.exec(reply.text)?.[1] ?? NaN);
    const message = `ClickHouse at ${this.where}: ${brief(what)}: ${brief(reply.text.replace(/, e\.what\(\) = .*$/s, '').trim())}`;
    const details = { clickhouseCode: Number.isNaN(code) ? undefined : code, status: reply.status };
    if (DATA_ERROR_CODES.has(code)) throw new TributaryError('TRIB_E_LOAD_REJECTED', message, { details });
    throw new TributaryError('TRIB_E_WAREHOUSE_UNAVAILABLE', message, { details });
  }

  /**
   * One POST over a kept-alive connection. A kept-alive socket the server closed while idle fails
   * with ECONNRESET on reuse; that request is sent once more on a fresh socket (every request
   * here is idempotent: inserts collapse, DDL says IF NOT EXISTS or tolerates its race).
   */
  private post(path: string, body: string, retried = false): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = (this.https ? httpsRequest : httpRequest)(
        new URL(path, `${this.base}/`),
        {
          method: 'POST',
          agent: this.agent,
          timeout: this.opts.timeoutMs,
          headers: { authorization: this.auth, 'content-type': 'text/plain; charset=utf-8' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(Object.assign(new Error(`timed out after ${this.opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.once('error', (err: NodeJS.ErrnoException) => {
        if (req.reusedSocket && err.code === 'ECONNRESET' && !retried) this.post(path, body, true).then(resolve, reject);
        else reject(err);
      });
      req.end(body);
    });
  }

  /** Closes the kept-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** The first 300 characters of a statement or message, on one line. */
function brief(s: string): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > 300 ? `${one.slice(0, 300)}...` : one;
}

/** The ClickHouse error code of a TributaryError raised by the client, if any. */
export function clickhouseCodeOf(err: unknown): number | undefined {
  return err instanceof TributaryError ? (err.details as { clickhouseCode?: number } | undefined)?.clickhouseCode : undefined;
}
