/**
 * The composition root every service's `main.ts` calls: telemetry first, the validated config,
 * the logger, the app; then drain on SIGTERM/SIGINT, and exit non-zero with the error code when
 * start-up fails.
 */
import type { Logger } from 'pino';
import { isTributaryError } from '@tributary/contract/errors';
import { createLogger } from './logger';
import type { Stoppable } from './shutdown';
import { startTelemetry } from './telemetry';

/**
 * The one shape of a service's app: nothing touched until `start()`, everything released by
 * `stop()` (a `Shutdown` of ordered steps, `./shutdown.ts`).
 */
export interface ServiceApp extends Stoppable {
  start(): Promise<unknown>;
}

/** What a service's `main.ts` hands to `runService`. */
export interface ServiceDefinition<C extends { LOG_LEVEL: string }> {
  /** The service name (logs, traces). */
  name: string;
  /** Reads and validates the environment (the service's `config.ts`); throws a `TRIB_E_CONFIG` error. */
  loadConfig: () => C;
  /** Builds the app from its config; no side effects until `start()`. */
  createApp: (config: C, deps: { logger: Logger }) => ServiceApp;
}

/**
 * Runs a service: starts telemetry, loads the config (a bad one: its message on stderr, exit 1),
 * creates and starts the app, and on SIGTERM/SIGINT stops the app, then telemetry.
 */
export function runService<C extends { LOG_LEVEL: string }>(def: ServiceDefinition<C>): void {
  const telemetry = startTelemetry(def.name);
  let config: C;
  try {
    config = def.loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(1);
  }
  const logger = createLogger(def.name, config.LOG_LEVEL);
  void superviseService(def.name, logger, async () => {
    const app = def.createApp(config, { logger });
    await app.start();
    return {
      stop: async () => {
        await app.stop();
        await telemetry.shutdown();
      },
    };
  });
}

/** Starts a service and wires signal handling; never returns a rejected promise. */
export async function superviseService(name: string, logger: Logger, start: () => Promise<Stoppable>): Promise<void> {
  let running: Stoppable;
  try {
    running = await start();
  } catch (err) {
    logger.fatal({ err, code: isTributaryError(err) ? err.code : undefined }, `${name} failed to start: ${(err as Error).message}`);
    // Give pino a tick to flush before exiting.
    setTimeout(() => process.exit(1), 50);
    return;
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, `${name} draining`);
    const timer = setTimeout(() => {
      logger.error('drain timed out after 25 s; exiting');
      process.exit(1);
    }, 25_000);
    timer.unref();
    running.stop().then(
      () => {
        logger.info(`${name} stopped`);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while draining');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
