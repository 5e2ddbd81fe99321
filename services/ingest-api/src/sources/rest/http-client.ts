/**
 * The rest source's HTTP client: authenticates each request from the connection (API key in the
 * query or a header, bearer, basic; secrets resolved per run and never logged), takes a request
 * from the shared budget, applies the per-request timeout, and retries 429, 5xx, timeouts and
 * network errors with exponential backoff and full jitter, honouring `Retry-After`.
 *
 * Node's built-in fetch (undici) is the transport: it has timeouts via AbortSignal and needs no
 * dependency; retries, budgets and redaction are ours because they depend on the spec.
 */
import { parseDuration, resolveSecret, type ConnectionSpec } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { backoffDelay, sleep } from '../../scheduling/backoff';
import { quotaHoldUntil, retryAfterMs } from './rate-limit-headers';

export { retryAfterMs } from './rate-limit-headers';

type HttpConnection = Extract<ConnectionSpec, { kind: 'http' }>;

/** An answered request. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The URL requested, without the credentials the client added. */
  url: URL;
}

/** Options of the client. */
export interface HttpClientOptions {
  connection: HttpConnection;
  retry: { attempts: number; initial: number; max: number };
  signal: AbortSignal;
  /** Waits for one request of the connection's budget (absent: no budget). */
  takeBudget?: () => Promise<void>;
  /** Called with the status of every attempt (`error` for network failures), for metrics. */
  onAttempt?: (status: string) => void;
  /** The API asked for a pause until this time (Retry-After, X-RateLimit-*): hold the shared budget. */
  holdBudget?: (until: number) => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

/** An HTTP client for one run of one rest source. */
export class RestHttpClient {
  private readonly secret?: string;
  private readonly timeoutMs: number;

  /** Resolves the connection's secret now (a missing one is TRIB_E_CONFIG naming the variable, not a value). */
  constructor(private readonly o: HttpClientOptions) {
    const auth = o.connection.auth;
    if (auth) this.secret = resolveSecret(auth.secret, o.env);
    this.timeoutMs = parseDuration(o.connection.timeout);
  }

  /** `GET https://host/path?apikey=***`: the request for logs and errors, secrets masked. */
  describe(method: string, url: URL): string {
    const shown = new URL(url);
    const auth = this.o.connection.auth;
    // Shown masked whether or not it was added yet, so logs say that the key is sent, never what it is.
    if (auth?.type === 'api_key' && auth.in === 'query') shown.searchParams.set(auth.name, '***');
    return this.redact(`${method} ${shown.toString()}`);
  }

  /** Removes the secret from any text (some APIs echo the key in their error messages). */
  redact(text: string): string {
    return this.secret ? text.split(this.secret).join('***') : text;
  }

  /**
   * Sends the request, retrying transient failures. Resolves with a 2xx response; throws
   * TRIB_E_UNAVAILABLE (retries exhausted), TRIB_E_RATE_LIMITED (Retry-After beyond `retry.max`),
   * TRIB_E_CONFIG (401/403) or TRIB_E_DECODE (another 4xx); every message names the request.
   */
  async send(method: 'GET' | 'POST', target: URL, extraHeaders: Record<string, string>, body?: unknown): Promise<HttpResponse> {
    const url = new URL(target);
    const headers: Record<string, string> = { accept: 'application/json', ...this.o.connection.headers, ...extraHeaders };
    const auth = this.o.connection.auth;
    if (auth?.type === 'api_key' && auth.in === 'query') url.searchParams.set(auth.name, this.secret!);
    if (auth?.type === 'api_key' && auth.in === 'header') headers[auth.name] = this.secret!;
    if (auth?.type === 'bearer') headers.authorization = `Bearer ${this.secret}`;
    if (auth?.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${this.secret}`).toString('base64')}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const what = this.describe(method, target);
    const { attempts, initial, max } = this.o.retry;
    let last = '';
    for (let attempt = 1; ; attempt++) {
      this.o.signal.throwIfAborted();
      await this.o.takeBudget?.();
      let res: Response | undefined;
      let text = '';
      try {
        res = await fetch(url, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.any([this.o.signal, AbortSignal.timeout(this.timeoutMs)]),
          redirect: 'follow',
        });
        // Reading the body belongs to the attempt: a connection cut mid-body is a network error too.
        text = await res.text();
      } catch (err) {
        res = undefined;
        this.o.signal.throwIfAborted();
        this.o.onAttempt?.('error');
        last =
          (err as Error).name === 'TimeoutError'
            ? `no answer within ${this.o.connection.timeout}`
            : this.redact(String((err as Error).cause ?? err));
      }
      if (res) {
        this.o.onAttempt?.(String(res.status));
        const hold = quotaHoldUntil(res.status, res.headers);
        if (hold !== undefined) await this.o.holdBudget?.(hold);
        if (res.ok) return { status: res.status, headers: res.headers, text, url: target };
        const snippet = this.redact(text.slice(0, 200));
        if (res.status === 401 || res.status === 403) {
          throw new TributaryError('TRIB_E_CONFIG', `${what}: ${res.status}: the API refused the connection's credentials: ${snippet}`, {
            details: { request: what, status: res.status },
          });
        }
        if (res.status !== 429 && res.status < 500) {
          // The body rides along (redacted) so the run can tell a declared `depth_error` apart.
          throw new TributaryError('TRIB_E_DECODE', `${what}: ${res.status}: ${snippet}`, {
            details: { request: what, status: res.status, body: this.redact(text.slice(0, 2000)) },
          });
        }
        last = `${res.status}${snippet ? `: ${snippet}` : ''}`;
        const after = retryAfterMs(res.headers.get('retry-after'));
        if (after !== undefined && after > max) {
          throw new TributaryError(
            res.status === 429 ? 'TRIB_E_RATE_LIMITED' : 'TRIB_E_UNAVAILABLE',
            `${what}: ${res.status} with Retry-After ${Math.ceil(after / 1000)}s, longer than retry.max; the run is retried later`,
            { details: { request: what, status: res.status, retryAfterMs: after } },
          );
        }
        if (attempt < attempts) {
          await sleep(after ?? backoffDelay(attempt, initial, max), this.o.signal);
          continue;
        }
      } else if (attempt < attempts) {
        await sleep(backoffDelay(attempt, initial, max), this.o.signal);
        continue;
      }
      throw new TributaryError('TRIB_E_UNAVAILABLE', `${what}: failed after ${attempts} attempts: ${last}`, {
        details: { request: what, attempts },
      });
    }
  }
}
