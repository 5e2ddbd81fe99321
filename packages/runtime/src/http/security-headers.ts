/**
 * Security headers on every response of every service (helmet, plus what it leaves out):
 * nothing may frame, embed or sniff our responses, no referrer leaves, browser features are off,
 * API answers are never cached, and HSTS is sent only over TLS (direct, or a trusted proxy's
 * `X-Forwarded-Proto: https`), since announcing it over plain HTTP is meaningless. The
 * Content-Security-Policy allows nothing (`default-src 'none'`): JSON and metrics need no
 * resources; the monitor's dashboard sets its own, still strict, policy for its pages.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/** `Strict-Transport-Security` sent over TLS: a year, subdomains included. */
export const HSTS = 'max-age=31536000; includeSubDomains';

/** Browser features none of our responses need. */
export const PERMISSIONS_POLICY =
  'accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()';

/** The middleware; mount it before any route. */
export function securityHeaders(): RequestHandler[] {
  return [
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
      },
      crossOriginOpenerPolicy: { policy: 'same-origin' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
      referrerPolicy: { policy: 'no-referrer' },
      strictTransportSecurity: false,
      xFrameOptions: { action: 'deny' },
    }),
    (req, res, next) => {
      res.set({ 'permissions-policy': PERMISSIONS_POLICY, 'cache-control': 'no-store' });
      if (req.secure) res.set('strict-transport-security', HSTS);
      next();
    },
  ];
}
