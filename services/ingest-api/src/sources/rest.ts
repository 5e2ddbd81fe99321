/**
 * `rest` source: pages of a REST API declared in YAML (no code per API), pulled on a schedule by
 * one ingest-api replica at a time. The factory validates and compiles the spec and touches no
 * network; each run resolves the connection's secret, plans, and pages through (`rest/rest-run.ts`).
 */
import { resolveSecret, restSourceSpec, type ConnectionSpec } from '@tributary/contract/spec';
import { TributaryError } from '@tributary/contract/errors';
import { budgetIdentity } from '../scheduling/request-budget';
import { pullSource } from './pull-source';
import { compileExpression } from './rest/expression';
import { RestHttpClient } from './rest/http-client';
import { Paginator } from './rest/paginator';
import { restMetrics } from './rest/rest-metrics';
import { ParentSelector } from './rest/parents';
import { runRest, type RestParts } from './rest/rest-run';
import { startOf } from './rest/windows';

/** Config shape of the rest source (from the core spec). */
export const spec = restSourceSpec;

/** Creates a rest source; throws TRIB_E_SPEC for a bad connection reference or expression. */
export const create = pullSource<typeof spec>((config, deps) => {
  const where = `pipeline "${deps.pipeline.name}" source "${deps.name}"`;
  const conn = deps.pipeline.connections[config.connection] as ConnectionSpec | undefined;
  if (conn?.kind !== 'http') {
    throw new TributaryError('TRIB_E_SPEC', `${where}: connection "${config.connection}" must be an http connection`);
  }
  if (config.parents) {
    const from = config.parents.from;
    const known = from in deps.pipeline.sources || deps.pipeline.datasets.some((d) => d.name === from);
    if (!known || from === deps.name) {
      throw new TributaryError('TRIB_E_SPEC', `${where}: parents.from "${from}" must be another source or a dataset of the pipeline`);
    }
  }
  if (config.incremental) startOf(config.incremental, Date.now()); // validates `start`
  // base_url_env lets manifests point at a local server (tests, `npm start`) without editing them.
  const override = conn.base_url_env ? process.env[conn.base_url_env] : undefined;
  const parts: RestParts = {
    spec: config,
    baseUrl: override || conn.base_url,
    records: compileExpression(config.records, 'records'),
    ...(config.expect ? { expect: compileExpression(config.expect, 'expect') } : {}),
    ...(config.incremental?.cursor_field
      ? { cursorField: compileExpression(config.incremental.cursor_field, 'incremental.cursor_field') }
      : {}),
    paginator: new Paginator(config.pagination),
    ...(config.parents ? { parents: new ParentSelector(config.parents) } : {}),
    ...(conn.auth?.type === 'api_key' && conn.auth.in === 'query' ? { authQueryParam: conn.auth.name } : {}),
  };
  return {
    async run(ctx) {
      const metrics = restMetrics(ctx.metrics);
      const budget = conn.budget;
      const labels = { pipeline: deps.pipeline.name, connection: config.connection };
      // The budget belongs to the API key, not to this pipeline's name for the connection: every
      // connection that reaches the same origin with the same credential shares it.
      const identity = budgetIdentity(parts.baseUrl, conn.auth ? resolveSecret(conn.auth.secret) : undefined);
      const limit = budget ? { requests: budget.requests, perMs: budget.per, margin: budget.margin } : undefined;
      const client = new RestHttpClient({
        connection: conn,
        retry: config.retry,
        signal: ctx.signal,
        ...(limit
          ? {
              takeBudget: async () => {
                const started = Date.now();
                await ctx.takeBudget(identity, limit);
                metrics.budgetTaken.inc(labels);
                metrics.budgetWait.inc(labels, (Date.now() - started) / 1000);
              },
            }
          : {}),
        ...(limit ? { holdBudget: (until: number) => ctx.holdBudget(identity, until) } : {}),
        onAttempt: (status) => {
          metrics.requests.inc({ pipeline: deps.pipeline.name, source: deps.name, status });
          if (status === '429') metrics.rateLimited.inc(labels);
        },
      });
      return runRest(ctx, parts, client);
    },
  };
});
