/**
 * transformer entry point: telemetry first, then the app, drained on SIGTERM.
 */
import { createLogger, runService, startTelemetry } from '@tributary/runtime';
import { createApp } from './app';
import { loadConfig } from './config';
import { dryRun } from './dry-run';

if (process.argv[2] === '--dry-run') {
  // Offline: run a pipeline's steps over a sample file and print the result (no telemetry, no servers).
  dryRun(process.argv.slice(3), (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${(err as Error).message}\n`);
      process.exit(1);
    },
  );
} else {
  start();
}

function start(): void {
  const telemetry = startTelemetry('transformer');
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger('transformer', config.LOG_LEVEL);
  void runService('transformer', logger, async () => {
    const app = createApp(config, { logger });
    await app.start();
    return {
      stop: async () => {
        await app.stop();
        await telemetry.shutdown();
      },
    };
  });
}
