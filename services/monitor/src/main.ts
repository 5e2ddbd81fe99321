/**
 * Entry point of the monitor service: telemetry first, then the app, drained on SIGTERM.
 */
import { createLogger, runService, startTelemetry } from '@tributary/runtime';
import { isTributaryError } from '@tributary/contract';
import { createApp } from './app';
import { loadConfig, type MonitorConfig } from './config';

const telemetry = startTelemetry('monitor');
let config: MonitorConfig | undefined;
try {
  config = loadConfig();
} catch (err) {
  createLogger('monitor').fatal({ err, code: isTributaryError(err) ? err.code : undefined }, (err as Error).message);
  setTimeout(() => process.exit(1), 50);
}

if (config) {
  const cfg = config;
  const logger = createLogger('monitor', cfg.LOG_LEVEL);
  void runService('monitor', logger, async () => {
    const app = createApp(cfg, { logger });
    await app.start();
    return {
      stop: async () => {
        await app.stop();
        await telemetry.shutdown();
      },
    };
  });
}
