/**
 * loader entry point: telemetry first, then the app, drained on SIGTERM.
 */
import { createLogger, runService, startTelemetry } from '@tributary/runtime';
import { createApp } from './app';
import { loadConfig } from './config';

const telemetry = startTelemetry('loader');
let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
const logger = createLogger('loader', config.LOG_LEVEL);
void runService('loader', logger, async () => {
  const app = createApp(config, { logger });
  await app.start();
  return {
    stop: async () => {
      await app.stop();
      await telemetry.shutdown();
    },
  };
});
