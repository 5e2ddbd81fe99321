import { inspect } from 'node:util';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this many milliseconds. */
  timeoutMs: number;
  /** Pause between attempts; 50 ms unless told. */
  intervalMs?: number;
  /** What is awaited, in words, for the timeout message ("the loader to commit 10 rows"). */
  what: string;
}

/**
 * Polls `fn` until it returns something other than `undefined` or `false`, and returns that.
 *
 * Errors thrown by `fn` count as "not yet" (a server still starting refuses connections), but
 * the last one is kept: on timeout the error names `what` and shows the last value or error,
 * which is usually the whole diagnosis. Hand-written: `p-wait-for` is ESM-only and its timeout
 * error says neither what was awaited nor what was last seen.
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: WaitForOptions): Promise<T> {
  const interval = opts.intervalMs ?? 50;
  const deadline = Date.now() + opts.timeoutMs;
  let last: { value: unknown } | { error: unknown } = { value: undefined };
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      last = { value };
    } catch (error) {
      last = { error };
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
  const detail =
    'error' in last
      ? `last error: ${last.error instanceof Error ? last.error.message : inspect(last.error)}`
      : `last value: ${inspect(last.value, { depth: 4, breakLength: Infinity })}`;
  const err = new Error(`Timed out after ${opts.timeoutMs} ms waiting for ${opts.what} (${detail})`);
  if ('error' in last) (err as Error & { cause?: unknown }).cause = last.error;
  throw err;
}
