/**
 * Serves the dashboard: one HTML shell for every page (the browser code routes by path), its
 * compiled scripts (`dist/web`, built from `web/src` by `tsc -b`), stylesheet and icon
 * (`web/static`) and uPlot's browser build from node_modules. No bundler: the scripts are native
 * ES modules. A strict Content-Security-Policy allows nothing but this origin: no inline or
 * foreign script, style, connection or frame, and no framing of the dashboard (the shared
 * security headers of every service, e.g. `X-Frame-Options: DENY`, come on top).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from '@tributary/runtime/logger';
import express, { type Router } from 'express';

/** The monitor package's root (`dist/api/` → the package), where `web/static` lives. */
const ROOT = path.resolve(__dirname, '../..');
/** The dashboard's Content-Security-Policy (the API's own policy allows nothing at all). */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join('; ');

/** Pages of the dashboard; each answers the same HTML shell. */
export const DASHBOARD_PAGES = ['/', '/pipelines/:name', '/dlq', '/alerts', '/reports', '/reports/:name'];

/** Creates the router serving the dashboard; warns when its files are missing (an image built without them). */
export function createDashboardRouter(logger?: Logger): Router {
  const router = express.Router();
  const missing = [path.join(ROOT, 'web/static/index.html'), path.join(ROOT, 'dist/web/main.js')].filter((f) => !existsSync(f));
  if (missing.length > 0) logger?.warn({ missing }, 'dashboard files are missing: the API works, the dashboard pages will not');
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  router.use((_req, res, next) => {
    res.set('content-security-policy', DASHBOARD_CSP);
    next();
  });
  const shell = path.join(ROOT, 'web/static/index.html');
  for (const page of DASHBOARD_PAGES) {
    router.get(page, (_req, res) => {
      res.set('cache-control', 'no-cache');
      res.sendFile(shell);
    });
  }
  // Scripts and styles revalidate (cheap 304s) so a new release shows at the next reload.
  const opts = { maxAge: 0, etag: true, index: false as const };
  router.use('/assets/js', express.static(path.join(ROOT, 'dist/web'), opts));
  router.use('/assets', express.static(path.join(ROOT, 'web/static'), opts));
  router.get('/vendor/uplot.js', (_req, res) => res.sendFile(path.join(uplot, 'uPlot.iife.min.js'), { maxAge: '1d' }));
  router.get('/vendor/uplot.css', (_req, res) => res.sendFile(path.join(uplot, 'uPlot.min.css'), { maxAge: '1d' }));
  return router;
}
