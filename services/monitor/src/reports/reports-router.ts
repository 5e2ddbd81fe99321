/**
 * The reports' HTTP side: `GET /api/reports` (the list), `GET /api/reports/:name` (a report's
 * parts and problems), `GET /api/reports/:name/data` (run its queries with the inputs in the
 * query string), and the browser builds of the libraries the report pages draw with (ECharts,
 * markdown-it) and the land base of maps, all served from this origin (no CDN).
 */
import path from 'node:path';
import { toTributaryError } from '@tributary/contract/errors';
import { watchedTables, type Report } from '@tributary/contract/reports';
import express, { type ErrorRequestHandler, type Router } from 'express';
import { landGeoJson } from './land-map';
import { inputValues } from './query-runner';
import type { ReportRunner } from './report-data';
import type { ReportRegistry } from './report-registry';

/** What the reports router reads. */
export interface ReportsRouterDeps {
  registry: ReportRegistry;
  runner: ReportRunner;
}

/** A report as the list shows it. */
function summary(r: Report): Record<string, unknown> {
  return {
    name: r.name,
    title: r.front?.title ?? r.name,
    description: r.front?.description ?? null,
    pipelines: r.front?.pipelines ?? [],
    refresh: r.front?.refresh ?? 'live',
    ...(r.front?.refresh_floor !== undefined ? { refresh_floor_ms: r.front.refresh_floor } : {}),
    ...(r.front?.refresh_factor !== undefined ? { refresh_factor: r.front.refresh_factor } : {}),
    problems: r.problems.length,
    url: `/reports/${encodeURIComponent(r.name)}`,
  };
}

/** Creates the router (mount at the root, before the dashboard's). */
export function createReportsRouter(deps: ReportsRouterDeps): Router {
  const router = express.Router();
  const missing = (res: express.Response, name: string): void => {
    res.status(404).json({ error: { code: 'TRIB_E_REPORT', message: `unknown report "${name}"` } });
  };

  router.get('/api/reports', (_req, res) => {
    res.json({ reports: deps.registry.list().map(summary) });
  });

  router.get('/api/reports/:name', (req, res) => {
    const r = deps.registry.get(req.params.name);
    if (!r) return missing(res, req.params.name);
    res.json({
      ...summary(r),
      file: path.basename(r.file),
      inputs: r.inputs,
      blocks: r.blocks,
      components: r.components,
      queries: Object.fromEntries(
        Object.values(r.queries).map((q) => [q.name, { line: q.line, tables: watchedTables(q.sql, deps.registry.feeds) }]),
      ),
      inline: r.inline,
      problems: r.problems.map((p) => ({ ...p, file: path.basename(p.file) })),
    });
  });

  router.get('/api/reports/:name/data', async (req, res) => {
    const r = deps.registry.get(req.params.name);
    if (!r) return missing(res, req.params.name);
    const q = req.query as Record<string, unknown>;
    const queries = typeof q.queries === 'string' && q.queries ? q.queries.split(',') : [];
    const values = inputValues(r.inputs, q);
    const data = await deps.runner.data(r, deps.registry.version(r.name), queries, values);
    res.set('cache-control', 'no-store').json(data);
  });

  router.get('/api/reports/:name/snapshot', async (req, res) => {
    const r = deps.registry.get(req.params.name);
    if (!r) return missing(res, req.params.name);
    const html = await deps.runner.snapshot(r, req.query as Record<string, string>);
    res.set('cache-control', 'no-store').type('html').send(html);
  });

  const vendor = (file: string, pkg: string): void => {
    const full = require.resolve(pkg);
    router.get(`/vendor/${file}`, (_req, res) => res.sendFile(full, { maxAge: '1d' }));
  };
  vendor('echarts.js', 'echarts/dist/echarts.min.js');
  vendor('markdown-it.js', 'markdown-it/dist/markdown-it.min.js');
  router.get('/vendor/land.json', (_req, res) => {
    res.set('cache-control', 'public, max-age=86400').json(landGeoJson());
  });
  const onError: ErrorRequestHandler = (err, _req, res, _next) => {
    const e = toTributaryError(err);
    res.status(e.status).json({ error: { code: e.code, message: e.message } });
  };
  router.use(onError);
  return router;
}
