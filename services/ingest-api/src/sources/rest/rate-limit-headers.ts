/**
 * What an API's answer says about its quota: how long to wait before the next request, from
 * `Retry-After` (on 429 and 503) or from `X-RateLimit-Remaining: 0` (also `RateLimit-Remaining`)
 * with its reset time. The shared budget holds every taker that long, so one source's 429 stops
 * the others on the same key too, instead of each finding out with a 429 of its own.
 */

/** Seconds (or an HTTP date) of a `Retry-After` header, as milliseconds from `now`. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * A reset header as an absolute time (ms): epoch milliseconds or seconds when it is that large,
 * else seconds from now (GitHub sends epoch seconds; the IETF `RateLimit-Reset` sends seconds).
 */
export function resetAt(value: string | null, now = Date.now()): number | undefined {
  if (!value || !/^\d+(\.\d+)?$/.test(value.trim())) return undefined;
  const n = Number(value);
  if (n > 1e12) return n;
  if (n > 1e9) return n * 1000;
  return now + n * 1000;
}

/** Until when (ms) the API asked us not to send: undefined when it did not. */
export function quotaHoldUntil(status: number, headers: Headers, now = Date.now()): number | undefined {
  if (status === 429 || status === 503) {
    const after = retryAfterMs(headers.get('retry-after'), now);
    if (after !== undefined) return now + after;
  }
  const remaining = headers.get('x-ratelimit-remaining') ?? headers.get('ratelimit-remaining');
  if (remaining !== null && Number(remaining.trim()) === 0) {
    const reset = resetAt(headers.get('x-ratelimit-reset') ?? headers.get('ratelimit-reset'), now);
    if (reset !== undefined && reset > now) return reset;
  }
  return undefined;
}
