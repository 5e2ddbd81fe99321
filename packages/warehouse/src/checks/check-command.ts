/**
 * `tributary check` and `tributary models`: run a pipeline's checks (or models) on demand, e.g. as
 * a CI/CD gate on the data. `check` exits non-zero when an error-severity check fails.
 */
import { Pool } from 'pg';
import type { Pipeline } from '@tributary/contract/spec';
import { runModels } from '../models/model-runner';
import { expandChecks } from './expand-checks';
import { gateFails, runChecks, type CheckResult } from './check-runner';

/** Runs every check of `pipelines`; writes one line per check to `out`; returns the exit code. */
export async function checkCommand(databaseUrl: string, pipelines: readonly Pipeline[], out: (line: string) => void): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1, application_name: 'tributary-check' });
  const all: CheckResult[] = [];
  try {
    for (const p of pipelines) {
      const results = await runChecks(pool, p.name, expandChecks(p.warehouse?.checks ?? []));
      for (const r of results) {
        const what =
          r.status === 'error'
            ? `could not run: ${r.error}`
            : r.status === 'fail'
              ? `${r.failingRows} failing row(s) ${JSON.stringify(r.sample.slice(0, 3))}`
              : '';
        out(`${r.status.toUpperCase().padEnd(5)} ${r.severity.padEnd(5)} ${p.name}: ${r.name}${what ? `: ${what}` : ''}`);
      }
      all.push(...results);
    }
  } finally {
    await pool.end();
  }
  const failed = all.filter((r) => r.status !== 'pass');
  out(
    `${all.length} checks: ${all.length - failed.length} passed, ${failed.filter((r) => r.severity === 'error').length} failed (error), ${failed.filter((r) => r.severity === 'warn').length} failed (warn)`,
  );
  return gateFails(all) ? 1 : 0;
}

/** Runs every model of `pipelines` in dependency order; returns the exit code (1 when a model failed). */
export async function modelsCommand(databaseUrl: string, pipelines: readonly Pipeline[], out: (line: string) => void): Promise<number> {
  const pool = new Pool({ connectionString: databaseUrl, max: 1, application_name: 'tributary-models' });
  let failed = 0;
  try {
    for (const p of pipelines) {
      for (const r of await runModels(pool, p.name, p.warehouse?.models ?? [], 'cli')) {
        if (r.status === 'error') failed++;
        out(`${r.status.toUpperCase().padEnd(9)} ${p.name}: ${r.model} (${r.rows} rows, ${r.ms} ms)${r.error ? `: ${r.error}` : ''}`);
      }
    }
  } finally {
    await pool.end();
  }
  return failed > 0 ? 1 : 0;
}
