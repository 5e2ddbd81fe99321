/**
 * The CLI's client of the monitor's HTTP API (`MONITOR_URL`): the same API the dashboard uses, so
 * the CLI and the console show and do the same things.
 */
import { TributaryError } from '@tributary/contract/errors';
import type { CliEnv } from './config';

/** Calls `path` on the monitor; returns the parsed JSON body, or throws naming the status and the monitor's message. */
export async function monitorRequest<T>(env: CliEnv, path: string, body?: unknown): Promise<T> {
  const url = new URL(path, env.MONITOR_URL);
  const headers: Record<string, string> = { accept: 'application/json', 'x-tributary-actor': 'tributary-cli' };
  if (env.MONITOR_ADMIN_TOKEN) headers.authorization = `Bearer ${env.MONITOR_ADMIN_TOKEN}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r: Response;
  try {
    r = await fetch(url, {
      method: body === undefined ? 'GET' : 'POST',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new TributaryError(
      'TRIB_E_UNAVAILABLE',
      `cannot reach the monitor at ${env.MONITOR_URL} (MONITOR_URL): ${(err as Error).cause ?? (err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const text = await r.text();
  if (!r.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {
      // not JSON: the text as it came
    }
    const hint = r.status === 401 || r.status === 403 ? " (set MONITOR_ADMIN_TOKEN to the monitor's admin token)" : '';
    throw new TributaryError(
      r.status === 404 ? 'TRIB_E_UNKNOWN_PIPELINE' : 'TRIB_E_UNAVAILABLE',
      `monitor answered ${r.status} to ${url.pathname}: ${message}${hint}`,
    );
  }
  return JSON.parse(text) as T;
}
