/**
 * Protects the dashboard's write actions with one bearer token (`MONITOR_ADMIN_TOKEN`), compared
 * in constant time. Without a configured token the actions are disabled (403), never open.
 * The actor recorded in the audit trail is the `X-Tributary-Actor` header (the name the user
 * typed), which the shared token does not prove: put the monitor behind an SSO proxy for that.
 * Write actions also refuse cross-site requests (an `Origin` other than the monitor's own, or
 * `Sec-Fetch-Site: cross-site`), so another site's page cannot drive them from a browser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The request's actor, set by {@link requireAdmin}. */
export function actorOf(res: { locals: Record<string, unknown> }): string {
  return String(res.locals.actor ?? 'admin');
}

/**
 * Middleware: 403 for a request a browser made from another site. Requests without `Origin` (curl,
 * scripts) pass on to the token check; browsers send it on every POST.
 */
export function refuseCrossSite(): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    let sameHost = origin === undefined;
    if (origin !== undefined) {
      try {
        sameHost = new URL(origin).host === req.host;
      } catch {
        sameHost = false; // "null" (sandboxed frames, file://) or garbage
      }
    }
    if (!sameHost || req.get('sec-fetch-site') === 'cross-site') {
      res.status(403).json({
        error: { code: 'TRIB_E_UNAUTHORIZED', message: `cross-site request refused (Origin ${origin ?? 'absent'}, Host ${req.host})` },
      });
      return;
    }
    next();
  };
}

/**
 * Whether a request carries the admin token (`Authorization: Bearer <token>`), for reads that show
 * more to an admin (personal fields of dead letters in clear) and less to anyone else, without
 * refusing anyone. False when no token is configured.
 */
export function adminTokenCheck(token: string | undefined): (req: Request) => boolean {
  const want = token ? digest(token) : undefined;
  return (req) => {
    const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    return want !== undefined && given !== undefined && timingSafeEqual(digest(given), want);
  };
}

/** Middleware: 403 when no token is configured, 401 without the right `Authorization: Bearer <token>`. */
export function requireAdmin(token: string | undefined): RequestHandler {
  const want = token ? digest(token) : undefined;
  return (req, res, next) => {
    if (!want) {
      res.status(403).json({
        error: {
          code: 'TRIB_E_UNAUTHORIZED',
          message: 'write actions are disabled: set MONITOR_ADMIN_TOKEN on the monitor to enable them',
        },
      });
      return;
    }
    const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1];
    if (!given || !timingSafeEqual(digest(given), want)) {
      res.set('WWW-Authenticate', 'Bearer realm="tributary-monitor"');
      res.status(401).json({ error: { code: 'TRIB_E_UNAUTHORIZED', message: 'missing or wrong admin token' } });
      return;
    }
    const actor = (req.get('x-tributary-actor') ?? '').trim().slice(0, 100);
    res.locals.actor = actor || 'admin';
    next();
  };
}
