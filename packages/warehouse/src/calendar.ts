/**
 * Generated dimensions (`dimensions:` in a pipeline): a calendar `date` dimension and a
 * `time_of_day` dimension, created and filled by `migrate` (idempotent: a wider range adds rows).
 * Facts join them on their date (`created_at::date = dim_date.date_id`) or time of day.
 */
import type { Pool, PoolClient } from 'pg';
import type { GeneratedDimension } from '@tributary/contract/spec';
import { ident, warehouseTable } from './sql';

/** The statements creating and filling one generated dimension. */
export function generatedDimensionSql(name: string, dim: GeneratedDimension): string[] {
  const t = warehouseTable(name);
  if (dim.kind === 'date') {
    return [
      `CREATE TABLE IF NOT EXISTS ${t} (
        date_id date PRIMARY KEY, year int NOT NULL, quarter int NOT NULL, month int NOT NULL, month_name text NOT NULL,
        year_month text NOT NULL, day int NOT NULL, day_of_week int NOT NULL, day_name text NOT NULL,
        week_of_year int NOT NULL, is_weekend boolean NOT NULL)`,
      // Month and day names in English whatever lc_time the server has (to_char's TM prefix would localise them).
      `INSERT INTO ${t}
       SELECT d, extract(year FROM d), extract(quarter FROM d), extract(month FROM d), trim(to_char(d, 'Month')),
         to_char(d, 'YYYY-MM'), extract(day FROM d), extract(isodow FROM d), trim(to_char(d, 'Day')),
         extract(week FROM d), extract(isodow FROM d) >= 6
       FROM generate_series(DATE '${dim.start}', DATE '${dim.end}', interval '1 day') AS g(ts), LATERAL (SELECT g.ts::date AS d) x
       ON CONFLICT (date_id) DO NOTHING`,
    ];
  }
  const step = dim.grain === 'second' ? '1 second' : '1 minute';
  return [
    `CREATE TABLE IF NOT EXISTS ${t} (
      time_id time PRIMARY KEY, hour int NOT NULL, minute int NOT NULL, second int NOT NULL, am_pm text NOT NULL, day_part text NOT NULL)`,
    `INSERT INTO ${t}
     SELECT tm, extract(hour FROM tm), extract(minute FROM tm), floor(extract(second FROM tm)),
       CASE WHEN extract(hour FROM tm) < 12 THEN 'AM' ELSE 'PM' END,
       CASE WHEN extract(hour FROM tm) < 6 THEN 'night' WHEN extract(hour FROM tm) < 12 THEN 'morning'
            WHEN extract(hour FROM tm) < 18 THEN 'afternoon' ELSE 'evening' END
     FROM generate_series(TIMESTAMP '2000-01-01 00:00', TIMESTAMP '2000-01-01 23:59:59', interval '${step}') AS g(ts), LATERAL (SELECT g.ts::time AS tm) x
     ON CONFLICT (time_id) DO NOTHING`,
  ];
}

/** Creates and fills the generated dimensions; returns a line per table. */
export async function ensureGeneratedDimensions(db: Pool | PoolClient, dims: Record<string, GeneratedDimension>): Promise<string[]> {
  const out: string[] = [];
  for (const [name, dim] of Object.entries(dims)) {
    let added = 0;
    for (const stmt of generatedDimensionSql(name, dim)) added = (await db.query(stmt)).rowCount ?? 0;
    out.push(`generated dimension ${ident(name)} (${dim.kind}): ${added} rows added`);
  }
  return out;
}
