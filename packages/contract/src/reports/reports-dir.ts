/**
 * Where the reports are: one rule for the monitor and `tributary validate`.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** The reports folder: `TRIBUTARY_REPORTS`, else `reports` beside the pipelines folder (or the folder of a pipelines file or glob). */
export function reportsDir(env: { TRIBUTARY_REPORTS?: string; TRIBUTARY_PIPELINES: string }): string {
  if (env.TRIBUTARY_REPORTS) return path.resolve(env.TRIBUTARY_REPORTS);
  const p = path.resolve(env.TRIBUTARY_PIPELINES);
  const folder = existsSync(p) && statSync(p).isDirectory() ? p : path.dirname(p);
  return path.join(path.dirname(folder), 'reports');
}
