/**
 * The CLI's environment: the variables every service shares, the topology and the archive
 * settings, read once and validated (the only place the CLI reads `process.env`).
 */
import { z } from 'zod';
import { archiveEnv } from '@tributary/archive';
import { commonEnv, readEnv, topologyEnv } from '@tributary/runtime/env-config';

/** The variables the CLI reads (docs/configuration.md is generated from it). */
export const configSchema = z.object({
  ...commonEnv,
  ...topologyEnv,
  ...archiveEnv,
  /** The monitor that `status`, `dlq` and `report build` talk to. */
  MONITOR_URL: z.url().default('http://127.0.0.1:8080'),
  /** The monitor's admin token: `dlq replay` and `dlq discard` need it. */
  MONITOR_ADMIN_TOKEN: z.string().optional(),
  /** The reports folder (`validate`); default `reports` beside the pipelines. */
  TRIBUTARY_REPORTS: z.string().optional(),
  /** NATS monitoring endpoints, comma-separated: migrate checks the servers' storage limits at their /jsz before creating anything. */
  NATS_MONITOR_URLS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean),
    ),
});

/** The validated environment a command runs with. */
export type CliEnv = Readonly<z.output<typeof configSchema>>;

/** Reads and validates the environment (throws a `TRIB_E_CONFIG` error naming the variable). */
export function readCliEnv(): CliEnv {
  return readEnv(configSchema);
}
