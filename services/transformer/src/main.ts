/**
 * transformer entry point: telemetry, config, the app, drained on SIGTERM (runService); or
 * `--dry-run`, offline: a pipeline's steps over a sample file, printed (no telemetry, no servers).
 */
import { runService } from '@tributary/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { dryRun } from './dry-run';

if (process.argv[2] === '--dry-run') {
  dryRun(process.argv.slice(3), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  runService({ name: 'transformer', loadConfig, createApp });
}
